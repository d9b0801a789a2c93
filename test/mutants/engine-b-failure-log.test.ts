import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FailureLog, type FailureSummary } from '../../src/engine/failure-log.js';

/**
 * The store-failure log's trailing line (src/engine/failure-log.ts) on fake timers and an
 * injected clock: the timer is set once, for what is left of the interval since the last line,
 * never holds the process open, and a flush cancels it.
 */
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function logOn(intervalMs?: number) {
  const clock = { now: 50_000 };
  const lines: FailureSummary[] = [];
  const log = intervalMs === undefined ? new FailureLog((s) => lines.push(s), undefined, () => clock.now) : new FailureLog((s) => lines.push(s), intervalMs, () => clock.now);
  return { clock, lines, log };
}

describe('failure log: the trailing line', () => {
  it('is due what is left of the interval since the last line (30 − 10 = 20 ms), one timer for every failure in between', () => {
    const { clock, lines, log } = logOn(30);
    log.note('a');
    expect(vi.getTimerCount()).toBe(0);
    clock.now += 10;
    log.note('b');
    clock.now += 5;
    log.note(new Error('c'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(19);
    expect(lines).toHaveLength(1);
    clock.now += 5; // 20 ms after the first line
    vi.advanceTimersByTime(1);
    expect(lines).toEqual([
      { failures: 1, error: 'a', sinceMs: 0 },
      { failures: 2, error: 'c', sinceMs: 20 },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not hold the process open', () => {
    const { clock, log } = logOn(30);
    log.note('a');
    clock.now += 1;
    log.note('b');
    expect(vi.getTimerCount()).toBe(1);
    // The trailing timer (a private field: nothing public tells whether a timer is ref'd).
    const timer = (log as unknown as { timer?: NodeJS.Timeout }).timer;
    expect(timer?.hasRef()).toBe(false);
  });

  it('a flush writes the pending count and cancels the timer; the next failure within the interval sets a new one', () => {
    const { clock, lines, log } = logOn(30);
    log.note('a');
    clock.now += 10;
    log.note('b');
    log.flush();
    expect(vi.getTimerCount()).toBe(0);
    expect(lines[1]).toEqual({ failures: 1, error: 'b', sinceMs: 10 });
    clock.now += 10;
    log.note('c');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(19);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(lines[2]).toMatchObject({ failures: 1, error: 'c' });
  });

  it('the default interval is 10 s: a failure 9,999 ms after a line waits, one 10,000 ms after is written at once', () => {
    const { clock, lines, log } = logOn();
    log.note('a');
    clock.now += 9_999;
    log.note('b');
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(0);
    expect(lines).toHaveLength(1);
    clock.now += 1;
    vi.advanceTimersByTime(1);
    expect(lines[1]).toEqual({ failures: 1, error: 'b', sinceMs: 10_000 });
    clock.now += 10_000;
    log.note('c');
    expect(lines[2]).toEqual({ failures: 1, error: 'c', sinceMs: 10_000 });
  });

  it('the default clock is the wall clock', () => {
    vi.setSystemTime(123_456);
    const lines: FailureSummary[] = [];
    const log = new FailureLog((s) => lines.push(s), 1000);
    log.note('a');
    vi.setSystemTime(123_956);
    log.note('b');
    log.flush();
    expect(lines[1]).toEqual({ failures: 1, error: 'b', sinceMs: 500 });
  });
});
