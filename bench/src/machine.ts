import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { rcloneVersion } from './rclone.js';
import type { BenchS3 } from './scenario.js';

// The machine the figures were taken on: they mean little without it.

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function osName(): string {
  try {
    const match = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return match?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

function describeS3(s3: BenchS3): string {
  // Both emulators sit behind the local cloud's S3 gateway (signatures and the role's policies checked).
  if (s3 === 's3rver') return `s3rver ${packageVersion('s3rver')} (files on local disk) behind the local cloud's S3 gateway, loopback HTTP`;
  if (s3 === 'moto') return "moto server (in-memory) behind the local cloud's S3 gateway, loopback HTTP";
  // Its CPU is not the bench's to attribute: machineCpu counts it under 'outside the bench'.
  return `external S3 at ${s3.endpoint}, run outside the bench`;
}

export function describeMachine(s3: BenchS3): Record<string, unknown> {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osName()}, Linux ${release()}`,
    node: process.version,
    rclone: rcloneVersion(),
    azureEndpoint: `Azurite ${packageVersion('azurite')} (in-memory), loopback HTTP`,
    s3Endpoint: describeS3(s3),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    note: 'the local clouds and the tool under test share these CPUs; each tool and each emulator is its own process',
  };
}
