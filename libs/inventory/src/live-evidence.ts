import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { SourceBlob, TargetObject } from '@blobferry/reconcile';

// A name's live state, in the shapes the listings give, for the names a report is older than.

function statusOf(error: unknown): number | undefined {
  const { statusCode, $metadata } = error as { statusCode?: number; $metadata?: { httpStatusCode?: number } };
  return statusCode ?? $metadata?.httpStatusCode;
}

/** The blob as it is now, or undefined when it is gone. */
export async function liveSourceBlob(container: ContainerClient, name: string, abortSignal?: AbortSignal): Promise<SourceBlob | undefined> {
  try {
    const properties = await container.getBlobClient(name).getProperties({ abortSignal });
    return {
      name,
      etag: properties.etag ?? '',
      size: properties.contentLength ?? 0,
      md5Base64: properties.contentMD5 ? Buffer.from(properties.contentMD5).toString('base64') : undefined,
      lastModified: properties.lastModified ?? new Date(0),
      ...(properties.blobType ? { blobType: properties.blobType } : {}),
      ...(properties.accessTier ? { accessTier: properties.accessTier } : {}),
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** The object as it is now (HEAD), or undefined when there is none. */
export async function liveTargetObject(
  s3: S3Client,
  bucket: string,
  key: string,
  abortSignal?: AbortSignal,
): Promise<TargetObject | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
    const encrypted =
      head.ServerSideEncryption === 'aws:kms' || head.ServerSideEncryption === 'aws:kms:dsse' || head.SSECustomerAlgorithm !== undefined;
    return {
      key,
      size: head.ContentLength ?? 0,
      etag: (head.ETag ?? '').replaceAll('"', ''),
      lastModified: head.LastModified ?? new Date(0),
      etagIsMd5: !encrypted,
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
