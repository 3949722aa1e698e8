// `npm run demo`: the whole product on one machine, no account. Starts the local cloud and the
// Functions host, uploads sample blobs, waits for their backups, runs `blobferry verify --local`
// and exits with its verdict.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { backupKeyFor, recordedSourceOf } from '@blobferry/transfer';
import { blobferryBin } from './blobferry-bin.js';
import { startBackupStack } from './local-stack.js';

const VERIFY_ENTRY = blobferryBin();
const BACKUP_DEADLINE_MS = 60_000;
const MIB = 1024 * 1024;

const say = (line: string) => process.stdout.write(`${line}\n`);
const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');

const samples: Array<{ name: string; content: Buffer; note: string }> = [
  { name: 'empty.txt', content: Buffer.alloc(0), note: 'empty blob' },
  { name: 'hello.txt', content: Buffer.from('hello from Azure Blob Storage\n'), note: 'small blob' },
  { name: 'big/multipart.bin', content: randomBytes(12 * MIB + 12345), note: 'multipart (5 MiB parts)' },
  { name: 'fotos/Zoë’s résumé 🚀 年.txt', content: Buffer.from('unicode name ✓\n'), note: 'unicode/emoji name' },
];
const overwriteName = 'report.csv';

async function runVerify(stackFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VERIFY_ENTRY, 'verify', '--local', '--stack', stackFile], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'blobferry-demo-'));
  const stackFile = join(workDir, 'stack.json');
  const logs: Array<Record<string, unknown>> = [];
  say('Starting the local cloud (Azurite, S3, identity plane, STS, Event Grid) and the Functions host...');
  const stack = await startBackupStack({ stackFile, settings: { PART_SIZE: '5MiB' }, log: (entry) => logs.push(entry) });
  try {
    const { azure, aws } = stack.cloud.stack;
    say(
      `Ready in ${((Date.now() - started) / 1000).toFixed(1)} s. Source: ${azure.blobEndpoint}/${azure.sourceContainer}; backups: s3://${aws.bucket}/${aws.prefix} at ${aws.s3Endpoint}`,
    );
    const container = BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient(azure.sourceContainer);

    const expected = new Map<string, string>(); // blob name -> etag of the version that must be in S3
    for (const sample of samples) {
      const uploaded = await container.getBlockBlobClient(sample.name).uploadData(sample.content, { blockSize: 4 * MIB });
      expected.set(sample.name, unquote(uploaded.etag));
      say(`  uploaded ${sample.name} (${sample.content.length} bytes, ${sample.note})`);
    }
    await container.getBlockBlobClient(overwriteName).upload('id,amount\n1,10\n', 14);
    const overwritten = await container.getBlockBlobClient(overwriteName).upload('id,amount\n1,10\n2,20\n', 19);
    expected.set(overwriteName, unquote(overwritten.etag));
    say(`  uploaded ${overwriteName} twice (an overwrite: the second version must win)`);

    const s3 = new S3Client({
      region: aws.region,
      endpoint: aws.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    });
    say('Waiting for the backups...');
    const deadline = Date.now() + BACKUP_DEADLINE_MS;
    const pending = new Set(expected.keys());
    while (pending.size > 0 && Date.now() < deadline) {
      for (const name of [...pending]) {
        const key = backupKeyFor({ account: azure.accountName, container: azure.sourceContainer, blobName: name }, { prefix: aws.prefix });
        const head = await s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key })).catch(() => undefined);
        if (head && recordedSourceOf(head.Metadata).etag === expected.get(name)) {
          pending.delete(name);
          say(`  backed up ${name} -> s3://${aws.bucket}/${key}`);
        }
      }
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    s3.destroy();
    if (pending.size > 0) {
      say(`Not backed up within ${BACKUP_DEADLINE_MS / 1000} s: ${[...pending].join(', ')}`);
      for (const entry of logs.filter((line) => line.level === 'error' || line.level === 'warning').slice(-20))
        say(`  ${JSON.stringify(entry)}`);
      return 1;
    }

    say('\n$ blobferry verify --local');
    const verdict = await runVerify(stackFile);
    say(
      `\n${verdict === 0 ? 'In sync' : 'NOT in sync'} (verify exit code ${verdict}); demo took ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    return verdict;
  } finally {
    await stack.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  return 1;
});
