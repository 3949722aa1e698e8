import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backupFunctionSettings, type Stack } from '@blobferry/local-cloud';
import { parseBackupSettings, QUEUE_CONNECTION, QUEUE_NAME_SETTING, SETTING_NAMES } from '@blobferry/contract';

// The settings schema itself is tested where it lives (libs/contract); these hold the app to it.
describe("the Function's settings", () => {
  it("documents every setting in the app README's configuration table", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(SETTING_NAMES.filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it('accepts every setting the local cloud gives it, and the local cloud gives only settings someone reads', () => {
    const stack = {
      azure: {
        accountName: 'devstoreaccount1',
        sourceContainer: 'source',
        connectionString: 'UseDevelopmentStorage=true',
        // The Functions host's own storage, as the local cloud writes its connection string.
        hostStorageConnectionString:
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;',
        blobEndpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      },
      aws: {
        roleArn: 'arn:aws:iam::000000000000:role/blobferry-backup',
        region: 'us-east-1',
        bucket: 'blobferry-backup',
        prefix: '',
        stsEndpoint: 'http://127.0.0.1:4599',
        s3Endpoint: 'http://127.0.0.1:4568',
        s3Features: { checksum: 'none', conditionalWrites: false },
      },
      identity: {
        audience: 'api://blobferry-backup',
        backupIdentity: { clientId: 'c0ffee00-0000-4000-8000-000000000001' },
        identityEndpoint: 'http://127.0.0.1:4600/msi/token',
        identityHeader: 'header',
      },
      events: {
        queueName: 'blob-events',
        subscriptionName: 'local-blobferry-backup',
        deadLetterContainerUrl: 'http://127.0.0.1:10010/devstoreaccount1/eventgrid-deadletter',
      },
    } as unknown as Stack;
    const settings = backupFunctionSettings(stack);
    // Read by the Functions runtime (the trigger's connection and queue name, the host storage) or by @azure/identity.
    const readElsewhere = [QUEUE_CONNECTION, QUEUE_NAME_SETTING, 'AzureWebJobsStorage', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER'];
    expect(
      Object.keys(settings).filter((name) => !(SETTING_NAMES as readonly string[]).includes(name) && !readElsewhere.includes(name)),
    ).toEqual([]);
    const result = parseBackupSettings(settings);
    expect(result.ok ? result.config : result.errors).toMatchObject({
      S3_CHECKSUM: 'none',
      S3_CONDITIONAL_WRITES: false,
      ALLOWED_SOURCES: [{ account: 'devstoreaccount1', container: 'source' }],
      STATE_CONTAINER_URL: 'http://127.0.0.1:10010/devstoreaccount1/blobferry-state',
    });
  });
});
