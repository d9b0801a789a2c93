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
