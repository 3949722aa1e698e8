// Peak RSS of copyBlobToS3 for a 64 MiB and a 1 GiB blob: the point is that it does not grow with the
// blob (memory ~ partSize x concurrency). Each copy runs in its own child process, because maxRSS is a
// per-process high-water mark; the parent runs the local cloud and prepares and checks the blobs.
//   npm run bench:memory -w @blobferry/transfer
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { BlobClient, BlobServiceClient } from '@azure/storage-blob';
import { startLocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, digestObject } from '../src/index.js';

const MiB = 1024 * 1024;

interface Job {
  connectionString: string;
  container: string;
  blobName: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  key: string;
}

interface Measurement {
  maxRssMiB: number;
  durationMs: number;
  bytes: number;
  parts: number;
  md5Base64: string | undefined;
}

async function copyInThisProcess(job: Job): Promise<Measurement> {
  const blob = BlobServiceClient.fromConnectionString(job.connectionString).getContainerClient(job.container).getBlobClient(job.blobName);
  const s3 = new S3Client({
    endpoint: job.s3.endpoint,
    region: job.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: job.s3.accessKeyId, secretAccessKey: job.s3.secretAccessKey },
  });
  const result = await copyBlobToS3({ source: { blob: blob as BlobClient }, target: { s3, bucket: job.s3.bucket, key: job.key } });
  return {
    // maxRSS is in KiB on Linux.
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    durationMs: Math.round(result.durationMs),
    bytes: result.bytes,
    parts: result.parts,
    md5Base64: result.md5Base64,
  };
}

function runChild(job: Job): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'child'], {
      env: { ...process.env, BENCH_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(output) as Measurement) : reject(new Error(`copy child exited with ${code}`)),
    );
  });
}

/** Random content streamed into a block blob (8 MiB blocks), hashed on the way; never held whole. */
async function uploadRandomBlob(blob: BlobClient, size: number): Promise<string> {
  const md5 = createHash('md5');
  async function* chunks() {
    for (let sent = 0; sent < size;) {
      const chunk = randomBytes(Math.min(4 * MiB, size - sent));
      md5.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  await blob.getBlockBlobClient().uploadStream(Readable.from(chunks()), 8 * MiB, 4);
  return md5.digest('base64');
}

async function main(): Promise<void> {
  const cloud = await startLocalCloud({ s3: 's3rver', log: () => undefined });
  try {
    const { stack } = cloud;
    const container = BlobServiceClient.fromConnectionString(stack.azure.connectionString).getContainerClient('bench');
    await container.createIfNotExists();
    const s3 = new S3Client({
      endpoint: stack.aws.s3Endpoint,
      region: stack.aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
    });
    const rows: Array<Record<string, unknown>> = [];
    // The empty blob is the baseline: runtime, SDKs and clients, no content buffered.
    for (const [label, size] of [
      ['0 B (baseline)', 0],
      ['64 MiB', 64 * MiB],
      ['1 GiB', 1024 * MiB],
    ] as const) {
      const blobName = `memory-${size}.bin`;
      const md5Base64 = await uploadRandomBlob(container.getBlobClient(blobName), size);
      const job: Job = {
        connectionString: stack.azure.connectionString,
        container: container.containerName,
        blobName,
        s3: {
          endpoint: stack.aws.s3Endpoint,
          region: stack.aws.region,
          accessKeyId: stack.aws.emulatorAccessKeyId,
          secretAccessKey: stack.aws.emulatorSecretAccessKey,
          bucket: stack.aws.bucket,
        },
        key: `bench/${blobName}`,
      };
      const measurement = await runChild(job);
      const copied = await digestObject({ s3, bucket: stack.aws.bucket, key: job.key });
      if (copied.md5Base64 !== md5Base64 || copied.bytes !== size || measurement.md5Base64 !== md5Base64) {
        throw new Error(`${label}: the object in S3 does not match the blob`);
      }
      rows.push({ blob: label, ...measurement, verified: true });
    }
    console.table(rows);
  } finally {
    await cloud.stop();
  }
}

if (process.argv[2] === 'child') {
  const measurement = await copyInThisProcess(JSON.parse(process.env.BENCH_JOB ?? '{}') as Job);
  process.stdout.write(JSON.stringify(measurement));
} else {
  await main();
}
