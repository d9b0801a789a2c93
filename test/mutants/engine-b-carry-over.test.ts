import { describe, expect, it } from 'vitest';
import type { Params } from '../../src/algorithms/index.js';
import { carryState, ruleChanges, usedOf, type RuleChange } from '../../src/engine/carry-over.js';
import { loadPolicyText } from '../../src/policy/load.js';

/** A reload's carry-over (src/engine/carry-over.ts) at its edges, by hand. */
type Alg = RuleChange['from']['algorithm'];
const change = (fromAlg: Alg, from: Params, toAlg: Alg, to: Params): RuleChange => ({ rule: 'r', from: { algorithm: fromAlg, params: from }, to: { algorithm: toAlg, params: to }, message: '' });
const W = { limit: 10, windowMs: 1000 };

describe('usedOf at its edges', () => {
  it('concurrency: only the leases that end after now (one ending exactly now is free)', () => {
    expect(usedOf('concurrency', W, [1050, 1100, 1200, 1300, 1400], 1100)).toBe(3);
  });
});

describe('carryState into a rolling quota', () => {
  it('charges the bucket of now (width 250: at 1300 the bucket of 1250, not the window of 1000)', () => {
    expect(carryState(change('sliding-log', W, 'rolling-quota', { ...W, buckets: 4 }), [1050, 2, 1090, 1], 1300)).toEqual({ state: [1250, 3], expiresAt: 1250 + 250 + 1000 });
  });
});

describe('carryState: a GCRA whose interval is unchanged', () => {
  it('keeps its TAT as it is, even one already past (10/1000 and 20/2000: 100 ms each)', () => {
    expect(carryState(change('gcra', W, 'gcra', { limit: 20, windowMs: 2000 }), [1000], 1100)).toEqual({ state: [1000], expiresAt: 1000 });
    // Another interval (20/1000: 50 ms) recounts: nothing used at 1100, nothing kept.
    expect(carryState(change('gcra', W, 'gcra', { limit: 20, windowMs: 1000 }), [1000], 1100)).toEqual({ state: null, expiresAt: 0 });
  });
});

describe('carryState: a state that would not be finite is forgotten', () => {
  it('a kept log with one entry not a number (the others fine)', () => {
    expect(carryState(change('sliding-log', W, 'sliding-log', { limit: 5, windowMs: 1000 }), [1050, 2, Number.NaN, 1], 1100)).toEqual({ state: null, expiresAt: 0 });
    expect(carryState(change('fixed-window', W, 'fixed-window', { limit: 5, windowMs: 1000 }), [1000, Infinity], 1100)).toEqual({ state: null, expiresAt: 0 });
  });
});

describe('ruleChanges: the default algorithm crossing its line downwards says why too', () => {
  it('2,000 per second (sliding-window by default) to 10 per second (sliding-log by default)', () => {
    const policy = (limit: string) => loadPolicyText(`rules:\n  - name: a\n    limit: ${limit}\n    key: [user]\n`);
    const [down] = ruleChanges(policy('2000 per second'), policy('10 per second'));
    expect(down.message).toBe(
      'rule "a": algorithm changes from sliding-window 2000 per 1000 ms to sliding-log 10 per 1000 ms (the default algorithm is sliding-log up to 1000 per window and sliding-window above; set algorithm: to keep one); its counts carry over conservatively',
    );
  });
});
