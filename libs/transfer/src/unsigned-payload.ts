import type { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';

/**
 * Signs the request without hashing its body (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, which S3 accepts
 * for PutObject and UploadPart). For a Buffer body the SDK would otherwise SHA-256 every byte just for the
 * signature (about a second of CPU per GiB here), although S3 already checks the body against the
 * Content-MD5 and full-object checksum the copy sends, and TLS protects it on the way. Over a plain-http
 * endpoint (only the local cloud) the body is then guarded by those checksums, not by the signature.
 */
export function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  // The build step of either command's stack, typed once for both (their input types differ).
  type BuildArgs = { request: unknown };
  type BuildStack = {
    add(
      middleware: (next: (args: BuildArgs) => Promise<unknown>) => (args: BuildArgs) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
  };
  (command.middlewareStack as unknown as BuildStack).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'blobferryUnsignedPayload' },
  );
  return command;
}
