import { GNU_TIME, toolPath } from '@blobferry/test-support/tools';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

// Every measured tool runs as its own child process under GNU time, so its peak RSS and CPU are its own:
// not the bench's, not the local cloud's. GNU time writes to a file (-o) so the tool's stderr stays its own.

let gnuTimePath: string | undefined;
/**
 * GNU time's path, looked up on PATH once (`time --version` must say GNU Time: not the shell keyword,
 * not BSD time). Throws with the install command (`apt-get install -y time`) when it is missing.
 */
export function gnuTime(): string {
  gnuTimePath ??= toolPath(GNU_TIME);
  return gnuTimePath;
}
const TIME_FORMAT = 'maxrss_kib=%M elapsed_s=%e user_s=%U sys_s=%S';

export interface Measurement {
  wallS: number;
  peakRssMiB: number;
  cpuS: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TimeFigures {
  maxRssKiB: number;
  elapsedS: number;
  userS: number;
  sysS: number;
}

export function parseTimeOutput(text: string): TimeFigures {
  const figure = (name: string): number => {
    const match = new RegExp(`${name}=([0-9.]+)`).exec(text);
    if (!match?.[1]) throw new Error(`GNU time output has no ${name}: ${JSON.stringify(text.slice(-300))}`);
    return Number(match[1]);
  };
  return { maxRssKiB: figure('maxrss_kib'), elapsedS: figure('elapsed_s'), userS: figure('user_s'), sysS: figure('sys_s') };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that count as success (rclone check and blobferry verify exit 1 on differences). */
  okExitCodes?: number[];
  /** Called with each complete stdout line while the tool runs (for tools that report progress as NDJSON). */
  onStdoutLine?: (line: string) => void;
  /** Receives the tool's stdin to write to and end; without it, stdin is closed at once. */
  stdin?: (stdin: Writable) => void;
  abortSignal?: AbortSignal;
}

/** Runs `command args` under GNU time; wall time is measured here with a monotonic clock (time's %e has 10 ms steps). */
export async function runMeasured(command: string, args: string[], options: RunOptions = {}): Promise<Measurement> {
  const time = gnuTime();
  const scratch = await mkdtemp(join(tmpdir(), 'blobferry-bench-time-'));
  const timeFile = join(scratch, 'time.txt');
  try {
    const started = process.hrtime.bigint();
    const child = spawn(time, ['-o', timeFile, '-f', TIME_FORMAT, command, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partialLine = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!options.onStdoutLine) return;
      partialLine += chunk;
      const lines = partialLine.split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onStdoutLine(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (process.env.BLOBFERRY_BENCH_VERBOSE) process.stderr.write(chunk);
      stderr = (stderr + chunk).slice(-20_000);
    });
    child.stdin.on('error', () => undefined);
    if (options.stdin) options.stdin(child.stdin);
    else child.stdin.end();
    const onAbort = () => child.kill('SIGKILL');
    options.abortSignal?.addEventListener('abort', onAbort, { once: true });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? -1));
    });
    options.abortSignal?.removeEventListener('abort', onAbort);
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    const ok = options.okExitCodes ?? [0];
    if (!ok.includes(exitCode)) {
      throw new Error(`${command} ${args.join(' ')} exited with ${exitCode}.\nstderr (tail):\n${stderr.slice(-3000)}`);
    }
    const figures = parseTimeOutput(await readFile(timeFile, 'utf8'));
    return {
      wallS,
      peakRssMiB: figures.maxRssKiB / 1024,
      cpuS: figures.userS + figures.sysS,
      exitCode,
      stdout,
      stderr,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
