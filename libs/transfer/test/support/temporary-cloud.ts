// Temporary stand-in until @blobferry/local-cloud's startLocalCloud lands.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
// @ts-expect-error s3rver ships no types; this helper is temporary
import S3rver from 's3rver';

const require = createRequire(import.meta.url);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForHttp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`not reachable: ${url}`);
}

export async function startTemporaryCloud(options: { s3?: 's3rver' | 'moto' } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'transfer-cloud-'));
  const children: ChildProcess[] = [];
  const azurePort = await freePort();
  const azuriteMain = require.resolve('azurite/dist/src/blob/main.js');
  children.push(
    spawn(process.execPath, [azuriteMain, '--blobHost', '127.0.0.1', '--blobPort', String(azurePort), '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--silent'], { stdio: 'ignore' }),
  );
  let s3Endpoint: string;
  let s3rver: { close(): Promise<void> } | undefined;
  if (options.s3 === 'moto') {
    const port = await freePort();
    children.push(spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));
    s3Endpoint = `http://127.0.0.1:${port}`;
    await waitForHttp(s3Endpoint);
    await fetch(`${s3Endpoint}/backup`, { method: 'PUT' });
  } else {
    s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'backup', configs: [] }] });
    const server = s3rver as unknown as { run(): Promise<{ port: number }> };
    const address = await server.run();
    s3Endpoint = `http://127.0.0.1:${address.port}`;
  }
  const blobEndpoint = `http://127.0.0.1:${azurePort}/devstoreaccount1`;
  await waitForHttp(blobEndpoint);
  const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  return {
    stack: {
      azure: {
        blobEndpoint,
        accountName: 'devstoreaccount1',
        accountKey,
        connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${accountKey};BlobEndpoint=${blobEndpoint};`,
        sourceContainer: 'source',
      },
      aws: { region: 'us-east-1', s3Endpoint, bucket: 'backup', prefix: '', emulatorAccessKeyId: options.s3 === 'moto' ? 'testing' : 'S3RVER', emulatorSecretAccessKey: options.s3 === 'moto' ? 'testing' : 'S3RVER' },
    },
    async stop() {
      for (const child of children) child.kill();
      await s3rver?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
