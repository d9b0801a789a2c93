import { describe, expect, it } from 'vitest';
import { CircuitBreaker, PROBE, SKIP, STORE } from '../../src/engine/breaker.js';
import { monotonicClock } from '../../src/engine/clock.js';
import { checkedCost, rejectBadCost } from '../../src/engine/cost.js';
import { FailureLog, type FailureSummary } from '../../src/engine/failure-log.js';
import { blockKeyOf, escapedId, localId, stateKey, stateKeyFor } from '../../src/engine/keys.js';
import type { CompiledRule } from '../../src/policy/compiled.js';

/** The engine's small parts at their edges, on hand-driven clocks. */
describe('circuit breaker', () => {
  it('opens on the threshold-th consecutive failure (default 3), not before; a success resets the count', () => {
    const now = 0;
    const b = new CircuitBreaker(() => now);
    b.failure(STORE);
    b.failure(STORE);
    expect([b.open, b.gate()]).toEqual([false, STORE]);
    b.success(STORE);
    b.failure(STORE);
    b.failure(STORE);
    expect(b.open).toBe(false);
    b.failure(STORE);
    expect([b.open, b.trips]).toEqual([true, 1]);
    // Further failures while open do not count as more trips.
    b.failure(STORE);
    expect(b.trips).toBe(1);
  });

  it('while open: skip until the cooldown (default 500 ms) has passed, then exactly one probe at a time', () => {
    let now = 1000;
    const b = new CircuitBreaker(() => now, { failures: 1 });
    b.failure(STORE);
    now = 1499;
    expect(b.gate()).toBe(SKIP);
    now = 1500;
    expect(b.gate()).toBe(PROBE);
    expect(b.gate()).toBe(SKIP); // the probe is out
    b.failure(PROBE); // open another cooldown from now
    expect(b.open).toBe(true);
    now = 1999;
    expect(b.gate()).toBe(SKIP);
    now = 2000;
    expect(b.gate()).toBe(PROBE);
    b.success(PROBE);
    expect([b.open, b.gate(), b.trips]).toEqual([false, STORE, 1]);
  });

  it('a late success from before the breaker opened closes it; a success while closed changes nothing', () => {
    let now = 0;
    const b = new CircuitBreaker(() => now, { failures: 1, cooldownMs: 100 });
    b.success(STORE);
    expect(b.open).toBe(false);
    b.failure(STORE);
    expect(b.open).toBe(true);
    b.success(STORE);
    expect([b.open, b.gate()]).toEqual([false, STORE]);
    // After closing, it takes a full threshold of failures again.
    b.failure(STORE);
    expect(b.trips).toBe(2);
    now = 100;
    expect(b.gate()).toBe(PROBE);
  });

  it('opens on an injected clock at 0 with no cooldown (open is its own state, not a probe time of 0)', () => {
    const b = new CircuitBreaker(() => 0, { failures: 1, cooldownMs: 0 });
    b.failure(STORE);
    expect([b.open, b.trips, b.gate()]).toEqual([true, 1, PROBE]);
    b.failure(PROBE);
    expect([b.open, b.gate()]).toEqual([true, PROBE]);
    b.success(PROBE);
    expect([b.open, b.gate()]).toEqual([false, STORE]);
  });

  it('options are floored: at least one failure, a cooldown of at least 0', () => {
    let now = 1000;
    const b = new CircuitBreaker(() => now, { failures: 0, cooldownMs: -5 });
    b.failure(STORE);
    expect(b.open).toBe(true);
    expect(b.gate()).toBe(PROBE);
    const c = new CircuitBreaker(() => now, { failures: 2, cooldownMs: 10 });
    c.failure(STORE);
    expect(c.open).toBe(false);
    c.failure(STORE);
    expect(c.open).toBe(true);
    now = 1009;
    expect(c.gate()).toBe(SKIP);
    now = 1010;
    expect(c.gate()).toBe(PROBE);
  });
});

describe('failure log', () => {
  it('writes the first failure at once, then one line per interval with the count since the last line', () => {
    let now = 50_000;
    const lines: FailureSummary[] = [];
    const log = new FailureLog((s) => lines.push(s), 10_000, () => now);
    log.note(new Error('boom 1'));
    expect(lines).toEqual([{ failures: 1, error: 'boom 1', sinceMs: 0 }]);
    now = 59_999;
    log.note(new Error('boom 2'));
    log.note('boom 3');
    expect(lines.length).toBe(1);
    now = 60_000;
    log.note(new Error('boom 4'));
    expect(lines[1]).toEqual({ failures: 3, error: 'boom 4', sinceMs: 10_000 });
    log.flush();
    expect(lines.length).toBe(2); // nothing pending
    now = 61_000;
    log.note(7);
    log.flush();
    expect(lines[2]).toEqual({ failures: 1, error: '7', sinceMs: 1000 });
  });

  it('cuts long messages to 300 characters with an ellipsis', () => {
    const lines: FailureSummary[] = [];
    const log = new FailureLog((s) => lines.push(s), 10_000, () => 0);
    log.note(new Error('x'.repeat(300)));
    log.flush();
    const l2 = new FailureLog((s) => lines.push(s), 10_000, () => 0);
    l2.note(new Error('y'.repeat(301)));
    expect(lines[0].error).toBe('x'.repeat(300));
    expect(lines[1].error).toBe(`${'y'.repeat(300)}…`);
  });

  it('a trailing line is written by the timer once failures stop', async () => {
    let now = 0;
    const lines: FailureSummary[] = [];
    const log = new FailureLog((s) => lines.push(s), 30, () => now);
    log.note('a');
    now = 10;
    log.note('b');
    expect(lines.length).toBe(1);
    now = 40;
    await new Promise((r) => setTimeout(r, 200)); // the timer was set for 20 ms; generous slack, no timing asserted
    expect(lines[1]).toEqual({ failures: 1, error: 'b', sinceMs: 40 });
  });
});

describe('cost', () => {
  it('accepts undefined, 0, fractions and large finite numbers as they are', () => {
    expect(checkedCost(undefined, 'check')).toBeUndefined();
    expect(checkedCost(0, 'check')).toBe(0);
    expect(checkedCost(0.25, 'refund')).toBe(0.25);
    expect(checkedCost(Number.MAX_VALUE, 'checkSync')).toBe(Number.MAX_VALUE);
    expect(rejectBadCost(1, 'check')).toBeUndefined();
    expect(rejectBadCost(undefined, 'refund')).toBeUndefined();
  });

  it('refuses negative, NaN, infinite and non-numbers, naming the door and the value', async () => {
    expect(() => checkedCost(-1, 'check')).toThrow(new RangeError('check: cost must be a finite number ≥ 0 (got -1)'));
    expect(() => checkedCost(-Number.MIN_VALUE, 'check')).toThrow(RangeError);
    expect(() => checkedCost(NaN, 'refund')).toThrow(new RangeError('refund: cost must be a finite number ≥ 0 (got NaN)'));
    expect(() => checkedCost(Infinity, 'checkSync')).toThrow(new RangeError('checkSync: cost must be a finite number ≥ 0 (got Infinity)'));
    expect(() => checkedCost(-Infinity, 'check')).toThrow(RangeError);
    expect(() => checkedCost('3' as unknown as number, 'check')).toThrow(new TypeError('check: cost must be a number (got string "3")'));
    expect(() => checkedCost(null as unknown as number, 'check')).toThrow(new TypeError('check: cost must be a number (got object null)'));
    await expect(rejectBadCost(-1, 'refund')).rejects.toThrow(new RangeError('refund: cost must be a finite number ≥ 0 (got -1)'));
  });
});

describe('monotonic clock', () => {
  it('is the wall clock at start plus monotonic elapsed time, floored to whole ms, ignoring later wall steps', () => {
    let wall = 1_000_000;
    let elapsed = 500.4;
    const clock = monotonicClock(
      () => wall,
      () => elapsed,
    );
    expect(clock()).toBe(1_000_000);
    elapsed = 1500.9;
    wall = 5; // a wall-clock step back: ignored
    expect(clock()).toBe(1_001_000);
    elapsed = 1500.3;
    expect(clock()).toBe(1_000_999);
  });
});

describe('state keys', () => {
  const rule = (keyAttrs: string[], blockKeyAttrs = keyAttrs) => ({ name: 'r', keyAttrs, blockKeyAttrs }) as unknown as CompiledRule;
  it('rule|value|value with each value escaped; a rule without a key is its name', () => {
    expect(stateKey(rule([]), { a: 'x' })).toBe('r');
    expect(stateKey(rule(['a']), { a: 'x|y' })).toBe('r|x%7Cy');
    expect(stateKey(rule(['a', 'b']), { a: 'x', b: '{%}' })).toBe('r|x|%7B%25%7D');
    expect(stateKey(rule(['a', 'b', 'c']), { a: 1, b: true, c: 'z' })).toBe('r|1|true|z');
    expect(stateKeyFor(rule(['a']), { a: 'v' })).toBe('r|v');
  });
  it('the block key is "rule!b" joined with its own attributes', () => {
    expect(blockKeyOf(rule(['a', 'b'], ['b']), { a: 'x', b: 'y' })).toBe('r!b|y');
    expect(blockKeyOf(rule(['a', 'b']), { a: 'x', b: 'y|' })).toBe('r!b|x|y%7C');
    expect(blockKeyOf(rule([], []), {})).toBe('r!b');
  });
  it('the local id: one value unescaped, several escaped and joined, none empty; escapedId completes the key', () => {
    expect(localId(rule(['a']), { a: 'x|y' })).toBe('x|y');
    expect(localId(rule(['a']), { a: 5 })).toBe('5');
    expect(localId(rule([]), { a: 'x' })).toBe('');
    expect(localId(rule(['a', 'b']), { a: 'x|', b: 'y' })).toBe('x%7C|y');
    expect(localId(rule(['a', 'b', 'c']), { a: 'x', b: 'y', c: '%' })).toBe('x|y|%25');
    expect(escapedId(rule(['a']), 'x|y')).toBe('x%7Cy');
    expect(escapedId(rule(['a', 'b']), 'x%7C|y')).toBe('x%7C|y');
    for (const [attrs, s] of [[['a'], { a: 'p|q' }], [['a', 'b'], { a: 'p', b: 'q{' }], [[], {}]] as const) {
      const rl = rule([...attrs]);
      const id = escapedId(rl, localId(rl, s));
      expect(id === '' ? 'r' : `r|${id}`).toBe(stateKey(rl, s));
    }
  });
});
