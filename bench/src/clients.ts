import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Stack } from '@blobferry/local-cloud';

// Clients for the local clouds, built from stack.json. Keys come from the stack (the emulators' own, well-known
// pairs): the bench measures data paths, so it skips the federated exchange, which costs the same for every tool.

export function azureContainer(stack: Stack, container: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(stack.azure.connectionString).getContainerClient(container);
}

function emulatorS3Client(
  stack: Stack,
  checksums: Pick<S3ClientConfig, 'requestChecksumCalculation' | 'responseChecksumValidation'>,
): S3Client {
  return new S3Client({
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: stack.aws.emulatorAccessKeyId,
      secretAccessKey: stack.aws.emulatorSecretAccessKey,
    },
    ...checksums,
  });
}

/** The client the bench's own helpers (seeding, limits) use: no optional checksums, the bare data path. */
export function s3Client(stack: Stack): S3Client {
  // The emulators do not understand aws-chunked uploads with trailing checksums.
  return emulatorS3Client(stack, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** A container of the Function app's host storage (the sweep's state container), by the host storage's key. */
export function hostStorageContainer(stack: Stack, container: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(stack.azure.hostStorageConnectionString).getContainerClient(container);
}

/**
 * The client blobferry runs with in production (apps/backup-function createClients): SDK defaults for checksums,
 * path style; static emulator keys stand in for the federated provider.
 */
export function blobferryS3Client(stack: Stack): S3Client {
  return emulatorS3Client(stack, {});
}
