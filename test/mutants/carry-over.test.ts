import { describe, expect, it } from 'vitest';
import type { Params } from '../../src/algorithms/index.js';
import { carryState, ruleChanges, usedOf, type RuleChange } from '../../src/engine/carry-over.js';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';

/**
 * A reload's carry-over (src/engine/carry-over.ts) by hand: what each algorithm's state counts as
 * used at an instant, the state of the new algorithm that holds it, and which rule changes are
 * carried over with which words.
 */
type Alg = RuleChange['from']['algorithm'];
const change = (fromAlg: Alg, from: Params, toAlg: Alg, to: Params): RuleChange => ({ rule: 'r', from: { algorithm: fromAlg, params: from }, to: { algorithm: toAlg, params: to }, message: '' });
const W = { limit: 10, windowMs: 1000 };

describe('usedOf: units held at now, per algorithm', () => {
  it('sliding log: entries whose time + window is after now (one leaving exactly now is gone); future stamps count', () => {
    // now 1100: 100+1000 = 1100 is not after 1100 (gone); 500 → 2; 1200 (future) → 1.
    expect(usedOf('sliding-log', W, [100, 1, 500, 2, 1200, 1], 1100)).toBe(3);
    // A trailing odd entry is no pair.
    expect(usedOf('sliding-log', W, [500, 2, 600], 1100)).toBe(2);
  });

  it('rolling quota: a bucket [start, start + width) counts while start + width + window is after now', () => {
    const p = { limit: 10, windowMs: 1000, buckets: 4 }; // width 250
    // now 1250: bucket 0 ends its window at 0+250+1000 = 1250 (gone); bucket 250 → 2.
    expect(usedOf('rolling-quota', p, [0, 3, 250, 2], 1250)).toBe(2);
    expect(usedOf('rolling-quota', p, [0, 3, 250, 2], 1249)).toBe(5);
    expect(usedOf('rolling-quota', p, [0, 3, 250], 1000)).toBe(3);
  });

  it('fixed window: the count of the current window (or a later one), else nothing', () => {
    expect(usedOf('fixed-window', W, [1000, 5], 1000)).toBe(5);
    expect(usedOf('fixed-window', W, [1000, 5], 1999)).toBe(5);
    expect(usedOf('fixed-window', W, [1000, 5], 2000)).toBe(0);
    expect(usedOf('fixed-window', W, [2000, 5], 1999)).toBe(5);
  });

  it('sliding window: the previous window weighted by its overlap plus the current one', () => {
    // now 1250: start 1000, overlap 1 - 250/1000 = 0.75.
    expect(usedOf('sliding-window', W, [1000, 4, 2], 1250)).toBe(4 * 0.75 + 2);
    // State one window old: its current count is now the previous one.
    expect(usedOf('sliding-window', W, [0, 4, 2], 1250)).toBe(2 * 0.75);
    expect(usedOf('sliding-window', W, [-1000, 4, 2], 1250)).toBe(0);
    expect(usedOf('sliding-window', W, [2000, 4, 2], 1250)).toBe(4 * 0.75 + 2);
  });

  it('GCRA: how far the TAT is ahead of now, in emission intervals (1000/10 = 100 ms)', () => {
    expect(usedOf('gcra', W, [1350], 1100)).toBe(2.5);
    expect(usedOf('gcra', W, [1000], 1100)).toBe(0);
  });

  it('concurrency: the leases that end after now', () => {
    expect(usedOf('concurrency', W, [1050, 1100, 1200, 1300], 1100)).toBe(2);
  });

  it('nothing, a negative or a not-a-number count is nothing used', () => {
    expect(usedOf('sliding-log', W, [], 1100)).toBe(0);
    expect(usedOf('sliding-log', W, [1000, -3], 1100)).toBe(0);
    expect(usedOf('gcra', { limit: 0, windowMs: 1000 }, [1350], 1100)).toBe(0); // interval Infinity: 250/Infinity = 0
    expect(usedOf('fixed-window', W, [1000, Number.NaN], 1100)).toBe(0);
  });
});

describe('carryState: the new state holding what was used, charged at now', () => {
  const log = [1050, 2, 1090, 1]; // at now 1100: 3 used
  it('into each algorithm, with its expiry', () => {
    expect(carryState(change('sliding-log', W, 'sliding-log', { limit: 5, windowMs: 2000 }), log, 1100)).toEqual({ state: log, expiresAt: 1090 + 2000 });
    expect(carryState(change('sliding-log', W, 'fixed-window', W), log, 1100)).toEqual({ state: [1000, 3], expiresAt: 2000 });
    expect(carryState(change('sliding-log', W, 'sliding-window', W), log, 1100)).toEqual({ state: [1000, 0, 3], expiresAt: 3000 });
    expect(carryState(change('sliding-log', W, 'gcra', W), log, 1100)).toEqual({ state: [1100 + 3 * 100], expiresAt: 1400 });
    // Rolling quota of width 250: the bucket of 1100 starts at 1000.
    expect(carryState(change('sliding-log', W, 'rolling-quota', { ...W, buckets: 4 }), log, 1100)).toEqual({ state: [1000, 3], expiresAt: 1000 + 250 + 1000 });
    expect(carryState(change('gcra', W, 'sliding-log', W), [1350], 1100)).toEqual({ state: [1100, 2.5], expiresAt: 2100 });
    // 2.5 units become 3 leases taken now, each ending a lease length (1000) from now.
    expect(carryState(change('gcra', W, 'concurrency', W), [1350], 1100)).toEqual({ state: [2100, 2100, 2100], expiresAt: 2100 });
  });

  it('kept as it is where the old state reads the same: same log or leases, same bucket width, same window, same interval', () => {
    expect(carryState(change('concurrency', W, 'concurrency', { limit: 3, windowMs: 5000 }), [1050, 1200], 1100)).toEqual({ state: [1050, 1200], expiresAt: 1200 });
    const rq = [0, 3, 250, 2];
    expect(carryState(change('rolling-quota', { ...W, buckets: 4 }, 'rolling-quota', { limit: 20, windowMs: 2000, buckets: 8 }), rq, 1100).state).toEqual(rq);
    // Width 250 → 500: recounted (at 1100 both buckets are in) into the bucket of 1000.
    expect(carryState(change('rolling-quota', { ...W, buckets: 4 }, 'rolling-quota', { ...W, buckets: 2 }), rq, 1100).state).toEqual([1000, 5]);
    expect(carryState(change('fixed-window', W, 'fixed-window', { limit: 3, windowMs: 1000 }), [0, 7], 1100).state).toEqual([0, 7]);
    expect(carryState(change('fixed-window', W, 'fixed-window', { limit: 10, windowMs: 500 }), [1000, 7], 1100).state).toEqual([1000, 7]);
    expect(carryState(change('fixed-window', W, 'fixed-window', { limit: 10, windowMs: 400 }), [1000, 7], 1100).state).toEqual([800, 7]);
    expect(carryState(change('sliding-window', W, 'sliding-window', { limit: 99, windowMs: 1000 }), [0, 1, 2], 1100).state).toEqual([0, 1, 2]);
    expect(carryState(change('sliding-window', W, 'sliding-window', { limit: 10, windowMs: 2000 }), [1000, 0, 2], 1100).state).toEqual([0, 0, 2]);
    // GCRA 10/1000 and 20/2000 share the interval 100: kept; 20/1000 (50 ms): 2.5 units → TAT 1100 + 125.
    expect(carryState(change('gcra', W, 'gcra', { limit: 20, windowMs: 2000 }), [1350], 1100).state).toEqual([1350]);
    expect(carryState(change('gcra', W, 'gcra', { limit: 20, windowMs: 1000 }), [1350], 1100).state).toEqual([1225]);
  });

  it('nothing used, or a state that would not be finite, is forgotten', () => {
    expect(carryState(change('gcra', W, 'sliding-log', W), [1000], 1100)).toEqual({ state: null, expiresAt: 0 });
    expect(carryState(change('sliding-log', W, 'gcra', { limit: 0, windowMs: 1000 }), log, 1100)).toEqual({ state: null, expiresAt: 0 });
    expect(carryState(change('sliding-log', W, 'sliding-log', W), [], 1100)).toEqual({ state: null, expiresAt: 0 });
  });
});

describe('ruleChanges: which rules carry over, and what the reload log says', () => {
  const policy = (rules: string) => loadPolicyText(`rules:\n${rules}`);
  const rule = (name: string, limit: string, extra = '', key = '[user]') => `  - name: ${name}\n    limit: ${limit}\n    key: ${key}\n${extra}`;

  it('the same name and key with other figures; not a new rule, another key, or the same figures', () => {
    const before = policy(rule('a', '10 per second') + rule('b', '10 per second') + rule('c', '10 per second') + rule('d', '5 per second', '    algorithm: gcra\n'));
    const after = policy(rule('a', '20 per second') + rule('b', '20 per second', '', '[ip]') + rule('c', '10 per second') + rule('d', '5 per second', '    algorithm: gcra\n    burst: 2\n') + rule('e', '1 per second'));
    const changes = ruleChanges(before, after);
    expect(changes.map((c) => c.rule)).toEqual(['a', 'd']);
    expect(changes[0]).toMatchObject({ from: { algorithm: 'sliding-log', params: { limit: 10, windowMs: 1000 } }, to: { algorithm: 'sliding-log', params: { limit: 20, windowMs: 1000 } } });
    expect(changes[0].message).toBe('rule "a": sliding-log 10 per 1000 ms becomes sliding-log 20 per 1000 ms; its counts carry over');
    // A key of the same length but another attribute, and a longer key, are other keys.
    const k2 = ruleChanges(policy(rule('a', '10 per second', '', '[user, ip]')), policy(rule('a', '20 per second', '', '[user, tenant]')));
    expect(k2).toEqual([]);
    expect(ruleChanges(policy(rule('a', '10 per second')), policy(rule('a', '20 per second', '', '[user, ip]')))).toEqual([]);
    // Buckets and windows alone are changes too.
    expect(ruleChanges(policy(rule('q', '10 per hour', '    algorithm: rolling-quota\n')), policy(rule('q', '10 per hour', '    algorithm: rolling-quota\n    buckets: 4\n')))).toHaveLength(1);
    expect(ruleChanges(policy(rule('w', '10 per hour')), policy(rule('w', '10 per minute')))).toHaveLength(1);
  });

  it('an algorithm change says so; crossing the default algorithm’s 1,000-per-window line says why', () => {
    const [plain] = ruleChanges(policy(rule('a', '10 per second')), policy(rule('a', '10 per second', '    algorithm: gcra\n')));
    expect(plain.message).toBe('rule "a": algorithm changes from sliding-log 10 per 1000 ms to gcra 10 per 1000 ms; its counts carry over conservatively');
    const [crossed] = ruleChanges(policy(rule('a', '1000 per second')), policy(rule('a', '1001 per second')));
    expect(crossed.message).toBe(
      'rule "a": algorithm changes from sliding-log 1000 per 1000 ms to sliding-window 1001 per 1000 ms (the default algorithm is sliding-log up to 1000 per window and sliding-window above; set algorithm: to keep one); its counts carry over conservatively',
    );
    // Not the default pair: no explanation, though the limit crosses 1,000.
    const [fixed] = ruleChanges(policy(rule('a', '10 per second', '    algorithm: fixed-window\n')), policy(rule('a', '2000 per second')));
    expect(fixed.message).toBe('rule "a": algorithm changes from fixed-window 10 per 1000 ms to sliding-window 2000 per 1000 ms; its counts carry over conservatively');
    const [back] = ruleChanges(policy(rule('a', '2000 per second')), policy(rule('a', '10 per second', '    algorithm: fixed-window\n')));
    expect(back.message).not.toContain('default');
    // Both on the same side of the line (an explicit sliding-window of 1000 from the default log of 1000): no explanation.
    const [same] = ruleChanges(policy(rule('a', '1000 per second')), policy(rule('a', '1000 per second', '    algorithm: sliding-window\n')));
    expect(same.message).not.toContain('default');
  });
});

describe('Sluice.setPolicy carries the counts over in its stores', () => {
  it('a log of 3 within the window becomes a fixed window holding 3 of its new limit 4: one more fits', async () => {
    let now = 10_000;
    const store = new MemoryStore();
    const sluice = await Sluice.open({ policy: loadPolicyText('rules:\n  - name: r\n    limit: 5 per second\n    key: [user]\n'), store, clock: () => now });
    for (let i = 0; i < 3; i++) expect((await sluice.check({ user: 'u' })).allowed).toBe(true);
    now = 10_100;
    const changes = sluice.setPolicy(loadPolicyText('rules:\n  - name: r\n    limit: 4 per second\n    algorithm: fixed-window\n    key: [user]\n'));
    expect(changes.map((c) => c.rule)).toEqual(['r']);
    expect((await sluice.check({ user: 'u' })).allowed).toBe(true);
    expect((await sluice.check({ user: 'u' })).allowed).toBe(false);
    await sluice.close();
  });
});
