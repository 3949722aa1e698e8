import { describe, expect, it } from 'vitest';
import { sweepRunId } from '../src/index.js';

describe('sweepRunId', () => {
  it('names the run by the occurrence the timer fired for, on every instance alike', () => {
    const everySixHours = '0 0 */6 * * *';
    expect(sweepRunId(everySixHours, new Date('2026-12-07T12:00:00.020Z'))).toBe('2026-12-07T12:00:00.000Z');
    // Fired a little early, or late (past due): still that occurrence.
    expect(sweepRunId(everySixHours, new Date('2026-12-07T11:59:59.400Z'))).toBe('2026-12-07T12:00:00.000Z');
    expect(sweepRunId(everySixHours, new Date('2026-12-07T17:59:00.000Z'))).toBe('2026-12-07T12:00:00.000Z');
    expect(sweepRunId('0 */2 * * * *', new Date('2026-12-07T12:03:10.000Z'))).toBe('2026-12-07T12:02:00.000Z');
  });
});
