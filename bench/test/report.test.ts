import { describe, expect, it } from 'vitest';
import { renderReport, type BenchReport } from '../src/report.ts';

const report: BenchReport = {
  machine: {
    cpus: 2,
    cpuModel: 'AMD EPYC',
    memoryGiB: 23.5,
    os: 'Debian 12',
    node: 'v22.23.3',
    rclone: 'v1.60.1',
    s3Endpoint: 's3rver',
    azureEndpoint: 'Azurite',
  },
  profile: 'full',
  runs: 3,
  startedAt: '2026-11-22T05:40:00.000Z',
  durationS: 900,
  scenarios: [
    {
      name: 'large-blob',
      description: 'one 1 GiB blob',
      blobferry: { mbPerS: 80, peakRssMiB: 120, at64MiB: { peakRssMiB: 110 } },
      rclone: { mbPerS: 50, peakRssMiB: 90 },
      limit: { mbPerS: 100, boundBy: 's3-write' },
      ratioVsRclone: 1.6,
      fractionOfLimit: 0.8,
      targets: [
        { target: '>= 1.2x rclone', met: true, actual: '1.6x' },
        { target: '>= 0.9 of the limit', met: false, actual: '0.8' },
      ],
      notes: ['a note'],
    },
  ],
};

describe('renderReport', () => {
  it('puts each scenario in one table row with both tools, the limit and the ratios', () => {
    const text = renderReport(report);
    const row = text.split('\n').find((line) => line.startsWith('| large-blob'));
    expect(row).toBeDefined();
    expect(row).toContain('80 MiB/s');
    expect(row).toContain('50 MiB/s');
    expect(row).toContain('100 MiB/s (s3-write)');
    expect(row).toContain('1.6x');
    expect(row).toContain('120 MiB');
  });

  it('shows objects/s and MiB/s together when a scenario measures both (a set of mixed sizes)', () => {
    const mixed: BenchReport = {
      ...report,
      scenarios: [
        {
          name: 'backfill',
          description: 'mixed sizes',
          blobferry: { objectsPerS: 40, mbPerS: 6.5, peakRssMiB: 200 },
          rclone: { objectsPerS: 100, mbPerS: 16.25, peakRssMiB: 60 },
          limit: { objectsPerS: 300, mbPerS: 48.75, boundBy: 'azurite-read' },
          ratioVsRclone: 0.4,
          fractionOfLimit: 0.13,
          targets: [],
          notes: [],
        },
      ],
    };
    const row = renderReport(mixed)
      .split('\n')
      .find((line) => line.startsWith('| backfill'));
    expect(row).toContain('40 obj/s, 6.5 MiB/s');
    expect(row).toContain('300 obj/s, 48.75 MiB/s (azurite-read)');
  });

  it('lists every target as met or MISSED, and the nested figures', () => {
    const text = renderReport(report);
    expect(text).toContain('- large-blob: >= 1.2x rclone: met (1.6x)');
    expect(text).toContain('- large-blob: >= 0.9 of the limit: MISSED (0.8)');
    expect(text).toContain('at64MiB=(peakRssMiB=110)');
  });
});
