import type { Stack } from '@blobferry/local-cloud';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchS3 } from './scenario.js';

// Starts tools/local-cloud in a separate process (see cloud-runner.ts) and hands back its stack.

export interface CloudProcess {
  stack: Stack;
  pid: number;
  stop(): Promise<void>;
}

export interface StartCloudProcessOptions {
  s3: BenchS3;
  /** Blob events into the backup queue (see cloud-runner.ts); off when absent. */
  events?: { concurrency?: number };
  persistDir?: string;
}

export async function startCloudProcess(options: StartCloudProcessOptions): Promise<CloudProcess> {
  const runner = fileURLToPath(new URL('./cloud-runner.js', import.meta.url));
  const child = spawn(process.execPath, [runner, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderrTail = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    if (process.env.BLOBFERRY_BENCH_CLOUD_LOG) process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stack = await new Promise<Stack>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`local cloud did not start within 120 s:\n${stderrTail}`)), 120_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const match = /^STACK (.*)$/m.exec(buffered);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(JSON.parse(match[1]) as Stack);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`local cloud exited before it was ready:\n${stderrTail}`));
    });
  });
  return {
    stack,
    pid: child.pid ?? -1,
    stop: async () => {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Runs `use` on a local cloud of its own, stopped afterwards whether `use` succeeds or throws. */
export async function withCloudProcess<T>(options: StartCloudProcessOptions, use: (stack: Stack) => Promise<T>): Promise<T> {
  const cloud = await startCloudProcess(options);
  try {
    return await use(cloud.stack);
  } finally {
    await cloud.stop();
  }
}
