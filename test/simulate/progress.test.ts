import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { duration, progressLine, ProgressBar } from '../../src/simulate/progress.js';

describe('the progress line', () => {
  it('shows the bar, the rate and the ETA from bytes read of a known size', () => {
    // a quarter of the file in 10 s: 30 s to go
    expect(progressLine(2_500_000, { read: 250, size: 1000 }, 10_000, 20)).toBe('[#####---------------]  25%  2.5M lines  250k lines/s  ETA 30s');
    expect(progressLine(10, { read: 1000, size: 1000 }, 1000, 4)).toBe('[####] 100%  10 lines  10 lines/s  ETA 0s');
  });
  it('has no bar or ETA for stdin, whose size is unknown', () => {
    expect(progressLine(50_000, { read: 123, size: undefined }, 1000)).toBe('50k lines  50k lines/s');
  });
  it('writes nothing when stderr is not a terminal', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (d) => (written += d));
    const bar = new ProgressBar(out as unknown as NodeJS.WriteStream);
    expect(bar.enabled).toBe(false);
    bar.update(10, { read: 1, size: 2 });
    bar.done();
    expect(written).toBe('');
  });
  it('says durations briefly', () => {
    expect([duration(NaN), duration(4_400), duration(125_000), duration(7_500_000)]).toEqual(['?', '4s', '2m05s', '2h05m']);
  });
});
