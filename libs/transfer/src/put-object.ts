import { PutObjectCommand } from '@aws-sdk/client-s3';
import { checksumOf, md5Base64Of } from './checksum.js';
import { commitGuarded } from './commit-guard.js';
import { checksumFields, echoedChecksum, objectPropertiesOf, writeSidecarOf, type CopyContext, type CopyResult } from './copy-context.js';
import { ContentMd5MismatchError } from './errors.js';
import { stripQuotes } from './metadata.js';
import { checksumAlgorithmOf } from './s3-endpoint.js';
import { pinOf, readRange } from './source.js';
import { withUnsignedPayload } from './unsigned-payload.js';

// A blob up to one part: one conditional PutObject with Content-MD5 and the full-object checksum.

/** `readBody` is the content already read with the snapshot, when it was. */
export async function putSingleObject(context: CopyContext, readBody: Buffer | undefined): Promise<CopyResult> {
  const { blob, snapshot, s3, bucket, key, abortSignal, features } = context;
  const body =
    readBody ??
    (snapshot.length === 0
      ? Buffer.alloc(0)
      : await readRange(blob, { offset: 0, count: snapshot.length, pin: pinOf(snapshot) }, abortSignal));
  const md5Base64 = md5Base64Of(body);
  if (snapshot.contentMd5Base64 !== undefined && snapshot.contentMd5Base64 !== md5Base64) {
    throw new ContentMd5MismatchError(snapshot.contentMd5Base64, md5Base64);
  }
  const properties = await objectPropertiesOf(context, md5Base64);

  const algorithm = checksumAlgorithmOf(features);
  const checksumBase64 = algorithm ? await checksumOf(algorithm, body) : undefined;
  const sidecar = await writeSidecarOf(context, properties);
  const outcome = await commitGuarded(
    context,
    async (conditions) => {
      const response = await s3.send(
        withUnsignedPayload(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            // S3 rejects the body if it does not hash to this: integrity on every endpoint.
            ContentMD5: md5Base64,
            ...properties.fields,
            ...conditions,
            ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
            ...checksumFields(algorithm, checksumBase64),
          }),
        ),
        { abortSignal },
      );
      return echoedChecksum(response, algorithm, checksumBase64);
    },
    body,
  );
  if ('settled' in outcome) return outcome.settled;
  context.onProgress?.({ bytes: body.length, totalBytes: body.length });
  return {
    outcome: 'copied',
    key,
    bytes: body.length,
    parts: 1,
    sourceEtag: stripQuotes(snapshot.etag),
    md5Base64,
    ...(outcome.written ? { checksum: outcome.written } : {}),
    ...sidecar,
    durationMs: performance.now() - context.started,
  };
}
