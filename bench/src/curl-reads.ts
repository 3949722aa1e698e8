import type { Stack } from '@blobferry/local-cloud';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AZURE_VERSION, azureSasUrls, s3TargetOf } from './endpoint-ops.js';
import { runMeasured, type Measurement } from './measure.js';

// Reading from an endpoint, the client is most of the cost: on this machine a Node client spends about as much
// CPU per byte as Azurite does to serve it, so a limit measured from Node is Node's limit. curl (C, parallel
// transfers, keep-alive) reads and discards at a fraction of that CPU: read limits are measured with it.

export interface CurlRead {
  url: string;
  /** `first-last` byte range. */
  range?: string;
}

export interface CurlAuth {
  headers?: Record<string, string>;
  /** S3: curl signs each request itself (SigV4). */
  sigv4?: { region: string; accessKeyId: string; secretAccessKey: string };
}

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A curl config: one transfer per read, all in parallel (at most `concurrency`), bodies discarded. */
export function curlReadConfig(reads: CurlRead[], concurrency: number, auth: CurlAuth): string {
  const lines = ['parallel', `parallel-max = ${concurrency}`];
  reads.forEach((read, index) => {
    if (index > 0) lines.push('next');
    lines.push('silent', 'show-error', 'fail', 'write-out = "%{size_download}\\n"');
    for (const [name, value] of Object.entries(auth.headers ?? {})) lines.push(`header = ${quote(`${name}: ${value}`)}`);
    if (auth.sigv4) {
      lines.push(`aws-sigv4 = ${quote(`aws:amz:${auth.sigv4.region}:s3`)}`);
      lines.push(`user = ${quote(`${auth.sigv4.accessKeyId}:${auth.sigv4.secretAccessKey}`)}`);
    }
    if (read.range) lines.push(`range = ${read.range}`);
    lines.push(`url = ${quote(read.url)}`, 'output = "/dev/null"');
  });
  return `${lines.join('\n')}\n`;
}

export interface CurlReadAllOptions {
  reads: CurlRead[];
  concurrency: number;
  auth: CurlAuth;
  workDir: string;
  expectBytes: number;
}

/** Runs the reads with curl under GNU time; fails unless every byte asked for arrived. */
export async function curlReadAll(o: CurlReadAllOptions): Promise<Measurement & { bytes: number }> {
  const config = join(o.workDir, `curl-reads-${process.hrtime.bigint()}.conf`);
  // The config holds a signing secret or SAS: private to this user.
  await writeFile(config, curlReadConfig(o.reads, o.concurrency, o.auth), { mode: 0o600 });
  const measurement = await runMeasured('curl', ['--config', config]);
  const bytes = measurement.stdout
    .split('\n')
    .filter(Boolean)
    .reduce((sum, line) => sum + Number(line), 0);
  if (bytes !== o.expectBytes) throw new Error(`curl read ${bytes} bytes, expected ${o.expectBytes}`);
  return { ...measurement, bytes };
}

/** Reads whole blobs (or `rangeSize` ranges of them) from Azure with a container SAS. */
export function azureReads(
  stack: Stack,
  container: string,
  blobs: ReadonlyArray<{ name: string; size: number }>,
  rangeSize?: number,
): CurlRead[] {
  const urlOf = azureSasUrls(stack);
  return blobs.flatMap(({ name, size }) => {
    const url = urlOf(container, name).href;
    if (!rangeSize) return [{ url }];
    const reads: CurlRead[] = [];
    for (let offset = 0; offset < size; offset += rangeSize)
      reads.push({ url, range: `${offset}-${Math.min(size, offset + rangeSize) - 1}` });
    return reads;
  });
}

export function azureAuth(): CurlAuth {
  return { headers: AZURE_VERSION };
}

export interface CurlReadBlobsOptions {
  stack: Stack;
  container: string;
  blobs: ReadonlyArray<{ name: string; size: number }>;
  partSize?: number;
  concurrency: number;
  workDir: string;
}

/**
 * The Azure read limit of `blobs`: curl reads each blob whole or, given `partSize`, each blob larger than a part
 * in part-sized ranges, as the tools read them (container SAS); fails unless every byte of every blob arrived.
 */
export function curlReadBlobs(o: CurlReadBlobsOptions): Promise<Measurement & { bytes: number }> {
  const inRanges = (blob: { size: number }) => o.partSize !== undefined && blob.size > o.partSize;
  return curlReadAll({
    reads: [
      ...azureReads(
        o.stack,
        o.container,
        o.blobs.filter((blob) => !inRanges(blob)),
      ),
      ...azureReads(o.stack, o.container, o.blobs.filter(inRanges), o.partSize),
    ],
    concurrency: o.concurrency,
    auth: azureAuth(),
    workDir: o.workDir,
    expectBytes: o.blobs.reduce((sum, blob) => sum + blob.size, 0),
  });
}

/** Reads whole objects from S3 (path style). */
export function s3Reads(stack: Stack, keys: string[]): CurlRead[] {
  return keys.map((key) => ({
    url: `${stack.aws.s3Endpoint}/${stack.aws.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
  }));
}

export function s3Auth(stack: Stack): CurlAuth {
  const target = s3TargetOf(stack);
  return {
    // curl 7.88 signs but does not send this header, which S3 requires with SigV4.
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    sigv4: { region: target.region, accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  };
}
