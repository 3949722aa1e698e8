import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompleteMultipartUploadCommandOutput,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { ContentDigest, checksumField, checksumOf, type ChecksumAlgorithm } from './checksum.js';
import { isRetryable } from './classify.js';
import { commitGuarded, type CommitOutcome } from './commit-guard.js';
import { checksumFields, echoedChecksum, objectPropertiesOf, writeSidecarOf, type CopyContext, type CopyResult } from './copy-context.js';
import { combineChecksums } from './crc-combine.js';
import { ContentMd5MismatchError, PermanentTransferError, SourceChangedError } from './errors.js';
import { stripQuotes } from './metadata.js';
import type { ObjectFields } from './object-properties.js';
import { pipelineParts, reusableBuffers, splitIntoParts, type PartRange } from './pipeline.js';
import { abortUpload, findResumableUpload, manifestOf, MANIFEST_PART_NUMBER } from './resume.js';
import { checksumAlgorithmOf, explainRejection } from './s3-endpoint.js';
import { readPagePart, writtenPageRanges } from './page-ranges.js';
import { pinOf, readRange } from './source.js';
import { storedChecksum } from './target.js';
import { withUnsignedPayload } from './unsigned-payload.js';

// Why a hand-written multipart loop rather than @aws-sdk/lib-storage's Upload: Upload consumes one body
// stream and decides itself when to call CompleteMultipartUpload. This copy needs (1) every part read
// as its own ETag-pinned range, so a mid-copy overwrite fails instead of mixing versions, (2) the whole
// content hashed in order while parts upload out of order, (3) a veto between the last part and
// Complete (MD5 check against Content-MD5, re-check that no newer source landed, conditional Complete),
// and (4) a full-object checksum handed to Complete. None of these fit Upload's hooks; the loop below
// (pipeline.ts + this file) is about as long as the glue Upload would need.

async function createUpload(context: CopyContext, fields: ObjectFields, algorithm: ChecksumAlgorithm | undefined): Promise<string> {
  const { s3, bucket, key, abortSignal, features } = context;
  try {
    const response = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ...fields,
        ...(algorithm ? { ChecksumAlgorithm: algorithm, ChecksumType: 'FULL_OBJECT' } : {}),
      }),
      { abortSignal },
    );
    if (!response.UploadId) throw new Error(`S3 returned no UploadId for s3://${bucket}/${key}`);
    return response.UploadId;
  } catch (error) {
    throw explainRejection(error, features, `s3://${bucket}/${key}`);
  }
}

async function uploadPart(
  context: CopyContext,
  uploadId: string,
  algorithm: ChecksumAlgorithm | undefined,
  partNumber: number,
  data: Buffer,
  abortSignal: AbortSignal | undefined,
): Promise<{ etag: string | undefined; checksumBase64: string | undefined; echoedChecksum: string | undefined }> {
  const { s3, bucket, key } = context;
  const checksumBase64 = algorithm ? await checksumOf(algorithm, data) : undefined;
  const response = await s3.send(
    withUnsignedPayload(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: data,
        ContentLength: data.length,
        ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
        ...checksumFields(algorithm, checksumBase64),
      }),
    ),
    { abortSignal },
  );
  return { etag: response.ETag, checksumBase64, echoedChecksum: algorithm ? response[checksumField[algorithm]] : undefined };
}

export async function putMultipart(context: CopyContext, partSize: number, concurrency: number): Promise<CopyResult> {
  const { blob, snapshot, s3, bucket, key, abortSignal, features } = context;
  const algorithm = checksumAlgorithmOf(features);
  const parts = splitIntoParts(snapshot.length, partSize);
  // A part's buffer is read into again once its upload has succeeded; a failed part's is dropped (its
  // request may still hold it).
  const buffers = reusableBuffers(partSize);
  // A page blob's unwritten pages are zeros, never read (page-ranges.ts).
  const writtenPages = snapshot.blobType === 'PageBlob' ? await writtenPageRanges(blob, snapshot, abortSignal) : undefined;
  const pin = pinOf(snapshot);
  const read = (part: PartRange, signal: AbortSignal) =>
    buffers.readInto((buffer) =>
      writtenPages
        ? readPagePart(blob, snapshot, writtenPages, part, signal, buffer)
        : readRange(blob, { offset: part.offset, count: part.count, pin }, signal, buffer),
    );

  // `source-md5` is user metadata, fixed by CreateMultipartUpload before the streamed MD5 exists, so it
  // is recorded only when known up front: the blob's declared Content-MD5 (the streamed MD5 must match
  // it before Complete, when this run read every part). Otherwise the full-object S3 checksum computed
  // while streaming guards the bytes, the MD5 is returned to the caller, and `blobferry verify --deep`
  // compares contents. Reading the blob twice to record it would double the Azure reads of every
  // block-uploaded blob, and a metadata rewrite after Complete would briefly show an object without it.
  const declaredMd5 = snapshot.contentMd5Base64;
  const properties = await objectPropertiesOf(context, declaredMd5);
  const manifest = manifestOf(key, snapshot, partSize);
  const resumable = await findResumableUpload(context, { manifest, parts, algorithm, abortSignal });
  const sidecar = await writeSidecarOf(context, properties);
  const uploadId = resumable?.uploadId ?? (await createUpload(context, properties.fields, algorithm));
  const kept = resumable?.kept ?? new Map<number, { etag: string; size: number; checksumBase64: string | undefined }>();
  // MD5 is fed in order; each part's CRC is computed once, sent with the part (so the SDK does not
  // compute it again) and combined into the full-object value (see crc-combine.ts). Kept parts are not
  // read again: their CRCs come from ListParts, and the whole-content MD5 is not known in this run.
  const digest = kept.size === 0 ? new ContentDigest() : undefined;
  const partChecksums: { checksumBase64: string; bytes: number }[] = [];
  const completedParts: CompletedPart[] = [];
  for (const [partNumber, part] of kept) {
    completedParts[partNumber - 1] = {
      PartNumber: partNumber,
      ETag: part.etag,
      ...(algorithm ? checksumFields(algorithm, part.checksumBase64) : {}),
    };
    if (part.checksumBase64 !== undefined) partChecksums[partNumber - 1] = { checksumBase64: part.checksumBase64, bytes: part.size };
  }
  let outcome: CommitOutcome<CompleteMultipartUploadCommandOutput>;
  let checksumBase64: string | undefined;
  let md5Base64: string | undefined;
  try {
    if (!resumable) await uploadPart(context, uploadId, algorithm, MANIFEST_PART_NUMBER, manifest, abortSignal);
    let uploadedBytes = [...kept.values()].reduce((sum, part) => sum + part.size, 0);
    await pipelineParts({
      parts: parts.filter((part) => !kept.has(part.partNumber)),
      concurrency,
      abortSignal,
      read,
      consumeInOrder: (_part, { data }) => digest?.update(data),
      process: async (part, { buffer, data }, signal) => {
        const uploaded = await uploadPart(context, uploadId, algorithm, part.partNumber, data, signal);
        if (uploaded.checksumBase64 !== undefined)
          partChecksums[part.partNumber - 1] = { checksumBase64: uploaded.checksumBase64, bytes: data.length };
        completedParts[part.partNumber - 1] = {
          PartNumber: part.partNumber,
          ETag: uploaded.etag,
          ...(algorithm ? checksumFields(algorithm, uploaded.echoedChecksum) : {}),
        };
        uploadedBytes += data.length;
        buffers.giveBack(buffer);
        context.onProgress?.({ bytes: uploadedBytes, totalBytes: snapshot.length });
      },
    });

    md5Base64 = digest?.finish().md5Base64;
    // Without every part's CRC (an endpoint that lists kept parts without theirs) the full-object value
    // is left to the endpoint, which computes it from the parts it verified on upload.
    const everyPartChecksum = parts.every((part) => partChecksums[part.partNumber - 1] !== undefined);
    checksumBase64 = algorithm && everyPartChecksum ? combineChecksums(algorithm, partChecksums) : undefined;
    if (declaredMd5 !== undefined && md5Base64 !== undefined && md5Base64 !== declaredMd5)
      throw new ContentMd5MismatchError(declaredMd5, md5Base64);

    outcome = await commitGuarded(context, (conditions) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: completedParts },
          ...(algorithm ? { ChecksumType: 'FULL_OBJECT' } : {}),
          ...checksumFields(algorithm, checksumBase64),
          ...conditions,
        }),
        { abortSignal },
      ),
    );
  } catch (error) {
    // A failure that a later attempt can get past keeps the upload open, so that attempt resumes it;
    // anything else (another source version, bad content, an abort) discards its parts now.
    if (!isRetryable(error) || error instanceof SourceChangedError) await abortUpload(context, uploadId);
    throw error;
  }
  if ('settled' in outcome) {
    await abortUpload(context, uploadId);
    return outcome.settled;
  }

  // The upload is complete and visible from here on.
  let checksum = echoedChecksum(outcome.written, algorithm, checksumBase64);
  if (algorithm && checksumBase64 && !checksum) {
    // Complete did not confirm our value (real S3 does): ask what the endpoint stored.
    const stored = await storedChecksum(s3, bucket, key, algorithm, abortSignal);
    // Another writer may have replaced our object since Complete: then the HEAD says nothing about ours.
    const stillOurs = stored.s3Etag === outcome.written.ETag;
    if (stored.value === checksumBase64) checksum = { algorithm, value: checksumBase64 };
    else if (stillOurs && stored.value !== undefined) {
      throw new PermanentTransferError(
        `s3://${bucket}/${key}: the endpoint stored full-object ${algorithm} ${stored.value}, not ${checksumBase64} as the parts combine to; every validating read of it will fail. ` +
          "The endpoint does not implement S3 full-object checksums (moto needs its awscrt package); fix the endpoint or declare its checksum feature 'none'.",
      );
    }
  }
  return {
    outcome: 'copied',
    key,
    bytes: snapshot.length,
    parts: parts.length,
    sourceEtag: stripQuotes(snapshot.etag),
    md5Base64,
    ...(checksum ? { checksum } : {}),
    ...sidecar,
    durationMs: performance.now() - context.started,
  };
}
