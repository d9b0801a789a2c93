import { describe, expect, it } from 'vitest';
import { monotonicClock } from '../../src/engine/clock.js';

describe('monotonic clock anchor', () => {
  it('anchors on the wall reading whose elapsed bracket is tightest, so a pause between two reads does not put the clock behind', () => {
    // The first try is preempted for 8 ms between its wall read and its second elapsed read;
    // the second try is not. The wall clock advances with real time (elapsed + 1e6).
    const reads = [100, 108.2, 108.3];
    let real = 0;
    const elapsed = () => (real = reads.length ? reads.shift()! : real);
    const wall = () => Math.floor(1_000_000 + real);
    const clock = monotonicClock(wall, elapsed);
    // real time now 108.3: the wall clock reads 1_000_108; the clock must not be 8 ms behind it
    expect(clock()).toBe(1_000_108);
  });

  it('keeps the midpoint of a bracket when every try is slow', () => {
    let t = 0;
    const elapsed = () => (t += 2);
    const clock = monotonicClock(() => 1_000_000, elapsed);
    // tries: (2, 4) → anchor 1_000_000 − 3; every try is 2 ms wide, so the first one stays
    t = 103;
    expect(clock()).toBe(Math.floor(1_000_000 - 3 + 105));
  });
});
