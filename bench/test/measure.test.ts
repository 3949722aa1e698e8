import { GNU_TIME, requireTool } from '@blobferry/test-support';
import { describe, expect, it } from 'vitest';
import { gnuTime, parseTimeOutput, runMeasured } from '../src/measure.ts';

// GNU time is a bench prerequisite (Debian package `time`), found on PATH: missing fails in CI, warns elsewhere.
const time = requireTool(GNU_TIME);

time.describe('runMeasured (GNU time)', () => {
  it('runs the GNU time found on PATH', () => {
    expect(gnuTime()).toBe(time.path);
  });

  it('reports the peak RSS of the child, not of the bench', async () => {
    // The child touches 200 MiB; the parent (this test) never does.
    const script = 'const b = Buffer.alloc(200 * 1024 * 1024, 1); process.stdout.write(String(b[b.length - 1]));';
    const measured = await runMeasured(process.execPath, ['-e', script]);
    expect(measured.exitCode).toBe(0);
    expect(measured.stdout.trim()).toBe('1');
    expect(measured.peakRssMiB).toBeGreaterThan(200);
    expect(measured.peakRssMiB).toBeLessThan(400);
  });

  it('fails with the tool stderr when the exit code is not accepted', async () => {
    const failing = runMeasured(process.execPath, ['-e', 'console.error("no such bucket"); process.exit(3)']);
    await expect(failing).rejects.toThrow(/exited with 3[\s\S]*no such bucket/);
    const accepted = await runMeasured(process.execPath, ['-e', 'process.exit(1)'], { okExitCodes: [0, 1] });
    expect(accepted.exitCode).toBe(1);
  });
});

describe('parseTimeOutput', () => {
  it('parses the figures of its GNU time format', () => {
    expect(parseTimeOutput('maxrss_kib=2048 elapsed_s=1.50 user_s=0.25 sys_s=0.10\n')).toEqual({
      maxRssKiB: 2048,
      elapsedS: 1.5,
      userS: 0.25,
      sysS: 0.1,
    });
    expect(() => parseTimeOutput('Command terminated by signal 9')).toThrow(/no maxrss_kib/);
  });
});
