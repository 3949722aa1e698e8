import { type LocalCloud, startLocalCloud, useLocalManagedIdentity } from '@blobferry/local-cloud';
import { parseBackupSettings } from '@blobferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthResponse } from '../src/health.js';
import { createSharedState } from '../src/state/shared-state.js';
import { depsForStack } from './support.js';

// GET /api/health against the local cloud: its state container holds what the instances share.
let cloud: LocalCloud;
let restoreEnvironment: (() => void) | undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({ log: () => undefined });
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
});
afterAll(async () => {
  restoreEnvironment?.();
  await cloud?.stop();
});

describe('GET /api/health', () => {
  it('answers 200 with the expiration only when credentials can be obtained', async () => {
    const expiration = new Date(Date.now() + 3_600_000);
    const deps = depsForStack(
      cloud.stack,
      {},
      {
        awsCredentials: async () => ({
          accessKeyId: 'ASIAEXAMPLE',
          secretAccessKey: 'very-secret',
          sessionToken: 'session-token',
          expiration,
        }),
      },
    );
    const response = await healthResponse({ ok: true, config: deps.config }, deps);
    expect(response.status).toBe(200);
    const text = JSON.stringify(response.jsonBody);
    expect(response.jsonBody).toMatchObject({ status: 'healthy', credentials: { obtained: true, expiration: expiration.toISOString() } });
    for (const secret of ['ASIAEXAMPLE', 'very-secret', 'session-token']) expect(text).not.toContain(secret);
  });

  it('answers 503 naming the broken settings', async () => {
    const response = await healthResponse(parseBackupSettings({ AWS_REGION: 'nowhere' }), undefined);
    expect(response.status).toBe(503);
    const body = response.jsonBody as { config: { valid: boolean; errors: string[] } };
    expect(body.config.valid).toBe(false);
    expect(body.config.errors.some((error) => error.startsWith('AWS_REGION:'))).toBe(true);
    expect(body.config.errors.some((error) => error.startsWith('AWS_ROLE_ARN:'))).toBe(true);
  });

  it('answers 503 with the reason when credentials fail, without any token in it', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const deps = depsForStack(
      cloud.stack,
      {},
      {
        awsCredentials: async () => {
          throw new Error(`AccessDenied: not admitted (token ${jwt}) at https://sts.example.com/?X-Amz-Signature=abc`);
        },
      },
    );
    const response = await healthResponse({ ok: true, config: deps.config }, deps);
    expect(response.status).toBe(503);
    const text = JSON.stringify(response.jsonBody);
    expect(text).toContain('AccessDenied: not admitted');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('X-Amz-Signature=abc');
  });

  it('says which dependency has been failing since when, whichever instance saw it, and counts permanent failures', async () => {
    // Two instances: the one that sees the outage, and the one health runs on. Each has its own view.
    const failingInstance = depsForStack(cloud.stack);
    const healthInstance = depsForStack(cloud.stack);
    const before = new Date();
    await failingInstance.state.outages.failing('s3', 'S3: connection refused (ECONNREFUSED)');
    await failingInstance.state.outages.failing('s3', 'S3: 503 SlowDown'); // the same outage: its start stays
    await failingInstance.state.failures.record({
      account: cloud.stack.azure.accountName,
      container: cloud.stack.azure.sourceContainer,
      blobName: 'gone.txt',
      url: `${cloud.stack.azure.blobEndpoint}/source/gone.txt`,
      reason: 'SourceNotFoundError: gone',
      errorClass: 'SourceNotFoundError',
      eventId: 'evt-gone',
    });

    const during = await healthResponse({ ok: true, config: healthInstance.config }, healthInstance);
    expect(during.status).toBe(503);
    const body = during.jsonBody as {
      status: string;
      dependencies: Record<string, { failing: boolean; since?: string; firstError?: string }>;
    };
    expect(body).toMatchObject({
      status: 'unhealthy',
      dependencies: {
        s3: { failing: true, firstError: 'S3: connection refused (ECONNREFUSED)' },
        sts: { failing: false },
        source: { failing: false },
      },
      permanentFailures: { count: 1 },
    });
    expect(Date.parse(body.dependencies.s3?.since ?? '')).toBeGreaterThanOrEqual(before.getTime());

    // The first success on any instance ends the outage, even on one that never saw it fail.
    await createSharedState(healthInstance.clients.stateContainer).outages.working(['source', 'sts', 's3']);
    const after = await healthResponse({ ok: true, config: healthInstance.config }, healthInstance);
    expect(after.status).toBe(200);
    expect(after.jsonBody).toMatchObject({ status: 'healthy', dependencies: { s3: { failing: false } } });
    for (const deps of [failingInstance, healthInstance]) deps.clients.s3.destroy();
  });
});
