import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobEvent, s3Reader, sourceContainer, waitFor } from './support.js';

// The local Functions host running the app's own registrations (src/index.ts), with the local
// cloud delivering BlobCreated events to its Event Grid webhook.
let stack: BackupStack;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  stack = await startBackupStack({ log: (entry) => logs.push(entry), localCloud: { faultProxy: true } });
});
afterAll(async () => {
  await stack?.stop();
});

const webhook = () => stack.host.eventGridWebhookUrl('backupBlob');
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', ...headers } });

describe('local Functions host', () => {
  it('serves GET /api/health: configuration valid, credentials obtainable, expiration only', async () => {
    const response = await fetch(`${stack.host.baseUrl}/api/health`);
    const text = await response.text();
    expect(response.status).toBe(200);
    const report = JSON.parse(text) as { status: string; config: { valid: boolean }; credentials: { obtained: boolean; expiration: string } };
    expect(report.status).toBe('healthy');
    expect(report.config.valid).toBe(true);
    expect(report.credentials.obtained).toBe(true);
    expect(Date.parse(report.credentials.expiration)).toBeGreaterThan(Date.now());
    for (const secret of [stack.cloud.stack.aws.emulatorSecretAccessKey, stack.cloud.stack.azure.accountKey, 'SessionToken', 'eyJ']) {
      expect(text).not.toContain(secret);
    }
  });

  it('answers the Event Grid subscription validation handshake', async () => {
    const response = await post(
      webhook(),
      JSON.stringify([{ id: '1', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', data: { validationCode: 'code-123' }, eventTime: new Date().toISOString() }]),
      { 'aeg-event-type': 'SubscriptionValidation' },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ validationResponse: 'code-123' });
  });

  it('refuses a non-JSON body with 400 and a reason, and keeps running', async () => {
    const response = await post(webhook(), 'this is {not json');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/not JSON/);
    expect((await fetch(`${stack.host.baseUrl}/api/health`)).status).toBe(200);
  });

  it('acknowledges malformed events (logged with a reason) instead of failing the delivery', async () => {
    const valid = blobEvent(stack.cloud.stack, 'never.txt', { contentLength: 1 });
    const malformed = [
      { ...valid, id: 'no-data', data: undefined },
      { ...valid, id: 'wrong-type', eventType: 'Microsoft.Storage.BlobTierChanged' },
      { ...valid, id: 'other-account', topic: undefined, data: { ...valid.data, url: 'https://elsewhere.blob.core.windows.net/source/never.txt' } },
      { ...valid, id: 'mismatch', subject: '/blobServices/default/containers/source/blobs/other.txt' },
    ];
    const response = await post(webhook(), JSON.stringify(malformed));
    expect(response.status).toBe(200);
    for (const id of ['no-data', 'wrong-type', 'other-account', 'mismatch']) {
      const line = logs.find((entry) => entry.eventId === id);
      expect(line).toMatchObject({ outcome: 'refused', functionName: 'backupBlob' });
      expect(String(line?.reason)).not.toBe('');
    }
  });

  it('answers 404 for an unknown function and for unknown paths', async () => {
    expect((await post(stack.host.eventGridWebhookUrl('nope'), '[]')).status).toBe(404);
    expect((await fetch(`${stack.host.baseUrl}/elsewhere`)).status).toBe(404);
  });

  it('backs up a blob uploaded to Azurite through the delivered webhook event', async () => {
    const content = Buffer.from('delivered by the local Event Grid');
    await sourceContainer(stack.cloud.stack).getBlockBlobClient('via-webhook.txt').upload(content, content.length);
    const reader = s3Reader(stack.cloud.stack);
    await waitFor(async () => (await reader.read('via-webhook.txt'))?.equals(content) ?? false, { timeoutMs: 30_000, what: 'the backup of via-webhook.txt' });
    const line = logs.find((entry) => entry.outcome === 'copied' && String(entry.url).endsWith('/via-webhook.txt'));
    expect(line).toMatchObject({ bytes: content.length, invocationId: expect.any(String), eventId: expect.any(String) });
    reader.s3.destroy();
  });

  it('throws on a transient failure so Event Grid redelivers, and the redelivery backs the blob up', { timeout: 60_000 }, async () => {
    // More S3 failures than the SDK and the copy retry by themselves: the invocation must fail.
    stack.cloud.faults?.failNext({ service: 's3', method: 'PUT', pathIncludes: 'transient.txt', status: 503, times: 20 });
    const content = Buffer.from('worth retrying');
    await sourceContainer(stack.cloud.stack).getBlockBlobClient('transient.txt').upload(content, content.length);
    const reader = s3Reader(stack.cloud.stack);
    await waitFor(async () => (await reader.read('transient.txt'))?.equals(content) ?? false, { timeoutMs: 50_000, what: 'the backup of transient.txt' });
    const outcomes = logs.filter((entry) => String(entry.url).endsWith('/transient.txt')).map((entry) => entry.outcome);
    expect(outcomes[0]).toBe('will-retry');
    expect(outcomes.at(-1)).toBe('copied');
    expect(stack.cloud.events.deadLettered()).toEqual([]);
    reader.s3.destroy();
  });

  it('never logs a token, key or signature', () => {
    const text = JSON.stringify(logs);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(text).not.toContain(stack.cloud.stack.azure.accountKey);
    expect(text).not.toContain(stack.cloud.stack.aws.emulatorSecretAccessKey);
  });
});
