import { describe, expect, it } from 'vitest';
import { KeyGaps, SkipCounts } from '../../src/engine/key-gaps.js';
import { loadPolicy } from '../../src/policy/index.js';

/** Key gaps (src/engine/key-gaps.ts): what an incomplete subject that matched rules counts. */
describe('key gaps: an incomplete subject that matched a rule', () => {
  it('is not counted as matching no rule; its skipped rule is counted and reported', () => {
    const policy = loadPolicy({
      rules: [
        { name: 'per-ip', key: 'ip', limit: '5/1m' },
        { name: 'per-user', key: 'user', limit: '5/1m' },
      ],
    });
    const gaps = new KeyGaps(policy);
    const counts = new SkipCounts();
    const s = { ip: '1.2.3.4' };
    const gap = gaps.scan(s, policy.rules.filter((r) => r.matches(s)), counts, false);
    expect(counts.noRule).toBe(0);
    expect(counts.missingKey.get('per-user')).toBe(1);
    expect(gap?.refusal).toBeUndefined();
    expect(gap?.skipped?.()).toEqual([{ rule: 'per-user', reason: 'missing_key', missing: ['user'] }]);
  });
});

describe('key gaps: what is missing, and the refusal', () => {
  const policy = loadPolicy({
    rules: [
      { name: 'per-ip', key: 'ip', limit: '5/1m' },
      { name: 'per-user', key: 'user', limit: '7/1m', on_missing_key: 'reject' },
    ],
  });
  const gaps = new KeyGaps(policy);

  it('an empty value is missing, as an absent one', () => {
    const s = { ip: '1.2.3.4', user: '' };
    const gap = gaps.scan(s, policy.rules.filter((r) => r.matches(s)), new SkipCounts(), false);
    expect(gap?.refusal?.message).toBe('The request lacks "user", which rule "per-user" needs to count it (it is keyed by [user]).');
  });

  it("the refusal's one rule result: refused, not blocked, the rule's limit and window, nothing remaining", () => {
    const s = { ip: '1.2.3.4' };
    const d = gaps.scan(s, policy.rules.filter((r) => r.matches(s)), new SkipCounts(), false)!.refusal!;
    expect(d.rules).toEqual([{ name: 'per-user', allowed: false, shadow: false, blocked: false, limit: 7, windowMs: 60_000, remaining: 0, resetMs: 0, retryAfterMs: 0 }]);
  });
});
