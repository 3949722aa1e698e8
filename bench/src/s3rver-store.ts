import { createRequire } from 'node:module';

export interface PutOptions {
  bucket: string;
  key: string;
  bytes: Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

// Seeding 100k objects through s3rver's HTTP API costs more CPU than the benchmark itself (about 6 ms per object
// on this machine: SigV4, XML, three file writes). s3rver keeps no state besides its folder, so its own store
// class can write the very same files directly. Used for seeding only; every measured request goes over HTTP.

interface FilesystemStore {
  putObject(object: unknown): Promise<{ size: number; md5: string }>;
}

const require = createRequire(import.meta.url);
const Store = require('s3rver/lib/stores/filesystem.js') as new (directory: string) => FilesystemStore;
const S3Object = require('s3rver/lib/models/object.js') as new (
  bucket: string,
  key: string,
  content: Buffer,
  metadata: Record<string, string>,
) => unknown;

export interface DirectObjectWriter {
  put(o: PutOptions): Promise<void>;
}

/** Writes objects straight into the folder of a running s3rver (`-d <directory>`). */
export function s3rverDirectWriter(directory: string): DirectObjectWriter {
  const store = new Store(directory);
  return {
    put: async (o) => {
      const headers: Record<string, string> = { 'content-type': o.contentType };
      for (const [name, value] of Object.entries(o.metadata)) headers[`x-amz-meta-${name}`] = value;
      await store.putObject(new S3Object(o.bucket, o.key, o.bytes, headers));
    },
  };
}
