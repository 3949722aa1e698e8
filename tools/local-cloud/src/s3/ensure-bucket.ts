import { CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';

export interface EnsureBucketOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  versioned: boolean;
}

/**
 * Creates the bucket if missing: also the first real request, proving the S3 endpoint answers. A bucket
 * created here is versioned when `versioned` is set, as infra/aws-iam creates the real one (a delete then
 * only adds a delete marker); an existing bucket is left as its owner configured it.
 */
export async function ensureBucket(o: EnsureBucketOptions): Promise<void> {
  const s3 = new S3Client({ endpoint: o.endpoint, region: o.region, credentials: o.credentials, forcePathStyle: true });
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: o.bucket }));
      return;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw error;
    }
    await s3.send(new CreateBucketCommand({ Bucket: o.bucket }));
    if (o.versioned) await s3.send(new PutBucketVersioningCommand({ Bucket: o.bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  } catch (error) {
    throw new Error(
      `S3 endpoint ${o.endpoint} did not let us use bucket "${o.bucket}": ${(error as Error).message}. ` +
        'Check that the endpoint is up and that its key pair was given.',
      { cause: error },
    );
  } finally {
    s3.destroy();
  }
}
