// How a run wires its clients: the Azure clients that sign in share the run's one credential, and a run on
// connection strings makes none (DefaultAzureCredential's constructor reads AZURE_TOKEN_CREDENTIALS).
import { DefaultAzureCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createVerifyClients } from '../src/verify/clients.js';
import { resolveVerifyConfig } from '../src/verify/verify-config.js';

/** The credential a storage client signs with (the SDKs keep it protected). */
const credentialOf = (client: object | undefined) => (client as { credential?: unknown } | undefined)?.credential;

const CONNECTION_STRING =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;';

describe('createVerifyClients', () => {
  it('hands the blob service and the backup queue one DefaultAzureCredential', async () => {
    const config = await resolveVerifyConfig(
      {
        accountUrl: 'https://account.blob.core.windows.net',
        queueUrl: 'https://account.queue.core.windows.net/backup',
        container: 'source',
        bucket: 'backup',
        repair: true,
        viaQueue: true,
      },
      {},
    );
    const { container, queue, s3 } = createVerifyClients(config);
    try {
      expect(credentialOf(container)).toBeInstanceOf(DefaultAzureCredential);
      expect(credentialOf(queue)).toBe(credentialOf(container));
    } finally {
      s3.destroy();
    }
  });

  it('makes an S3 client that adds and validates checksums only where an operation requires them', async () => {
    const config = await resolveVerifyConfig({ connectionString: CONNECTION_STRING, container: 'source', bucket: 'backup' }, {});
    const { s3 } = createVerifyClients(config);
    try {
      // The run computes what it compares itself (--deep: the blob's CRC, or both sides' MD5); the SDK's
      // response validation would hash every GET body a second time.
      expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await s3.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    } finally {
      s3.destroy();
    }
  });

  it('makes no Azure credential for connection strings', async () => {
    const config = await resolveVerifyConfig(
      { connectionString: CONNECTION_STRING, queueName: 'backup', container: 'source', bucket: 'backup', repair: true, viaQueue: true },
      {},
    );
    const previous = process.env.AZURE_TOKEN_CREDENTIALS;
    // A value DefaultAzureCredential refuses: making one here would throw.
    process.env.AZURE_TOKEN_CREDENTIALS = 'not-a-credential';
    try {
      const { container, queue, s3 } = createVerifyClients(config);
      s3.destroy();
      expect(credentialOf(container)).not.toBeInstanceOf(DefaultAzureCredential);
      expect(credentialOf(queue)).not.toBeInstanceOf(DefaultAzureCredential);
    } finally {
      if (previous === undefined) delete process.env.AZURE_TOKEN_CREDENTIALS;
      else process.env.AZURE_TOKEN_CREDENTIALS = previous;
    }
  });
});
