import { describe, expect, it } from 'vitest';
import { KeyGaps, SkipCounts } from '../../src/engine/key-gaps.js';
import { loadPolicy } from '../../src/policy/index.js';
import type { CompiledRule, Subject } from '../../src/policy/compiled.js';

/** Rules whose key a subject lacks: skipped, refused or shared, and the count of each. */
const policy = loadPolicy({
  rules: [
    { name: 'per-account', key: 'account', limit: '5/1m', match: { api: 'upload' } },
    { name: 'per-user', key: ['account', 'user'], limit: '5/1m', on_missing_key: 'reject' },
    { name: 'per-ip', key: 'ip', limit: '5/1m', on_missing_key: 'shared' },
    { name: 'global', limit: '100/1m', match: { api: 'admin' } },
  ],
});
const [ACCOUNT, USER, IP, GLOBAL] = policy.rules;
const gaps = new KeyGaps(policy);
const matched = (s: Subject) => policy.rules.filter((r) => r.matches(gaps.fill(s)));

describe('key gaps', () => {
  it('shared rules: missing key values are filled with "", present ones kept, the subject itself when nothing is missing', () => {
    expect(gaps.shared).toBe(true);
    const s = { account: 'a', ip: '1.2.3.4' };
    expect(gaps.fill(s)).toBe(s);
    expect(gaps.fill({ account: 'a' })).toEqual({ account: 'a', ip: '' });
    expect(gaps.fill({ ip: null })).toEqual({ ip: '' });
    const none = new KeyGaps(loadPolicy({ rules: [{ name: 'r', key: 'a', limit: '1/1m' }] }));
    expect(none.shared).toBe(false);
    expect(none.fill({})).toEqual({});
  });

  it('a complete subject that matched a rule costs nothing; one that matched none is counted and explained', () => {
    const counts = new SkipCounts();
    const s = { api: 'upload', account: 'a', user: 'u', ip: '1.2.3.4' };
    expect(gaps.scan(s, matched(s), counts, false)).toBeUndefined();
    expect(counts.noRule).toBe(0);
    const bare = new KeyGaps(loadPolicy({ rules: [{ name: 'only-admin', limit: '1/1m', match: { api: 'admin' } }] }));
    const gap = bare.scan({ api: 'x' }, [], counts, false);
    expect(counts.noRule).toBe(1);
    expect(gap?.refusal).toBeUndefined();
    expect(gap?.skipped?.()).toEqual([{ rule: 'only-admin', reason: 'no_match' }]);
  });

  it('a rule that rejects keyless subjects refuses with 400, naming what is missing; the others are skipped and counted', () => {
    const counts = new SkipCounts();
    const s = { api: 'upload', account: 'a' };
    const gap = gaps.scan(s, matched(s), counts, false)!;
    expect(gap.refusal).toBeDefined();
    const d = gap.refusal!;
    expect([d.allowed, d.status, d.code, d.rule, d.action]).toEqual([false, 400, 'missing_key_attribute', 'per-user', 'reject']);
    expect(d.message).toBe('The request lacks "user", which rule "per-user" needs to count it (it is keyed by [account, user]).');
    expect(counts.missingKey.get('per-user')).toBe(1);
    expect(gap.skipped?.()).toEqual([
      { rule: 'per-user', reason: 'missing_key', missing: ['user'] },
      { rule: 'global', reason: 'no_match' },
    ]);
  });

  it('missing several attributes names them all; the front door decides for rules that do not say', () => {
    const counts = new SkipCounts();
    const lax = new KeyGaps(loadPolicy({ rules: [{ name: 'pair', key: ['a', 'b'], limit: '1/1m' }] }));
    const skip = lax.scan({}, [], counts, false)!;
    expect(skip.refusal).toBeUndefined();
    expect(skip.skipped?.()).toEqual([{ rule: 'pair', reason: 'missing_key', missing: ['a', 'b'] }]);
    expect([counts.missingKey.get('pair'), counts.noRule]).toEqual([1, 1]);
    const strict = lax.scan({ b: 'x' }, [], counts, false, 'reject')!;
    expect(strict.refusal?.message).toBe('The request lacks "a", which rule "pair" needs to count it (it is keyed by [a, b]).');
    expect(counts.missingKey.get('pair')).toBe(2);
    const both = lax.scan({}, [], counts, false, 'reject')!;
    expect(both.refusal?.message).toMatch(/^The request lacks "a" and "b", /);
  });

  it('a skipped rule whose match does not hold is not counted; a matched rule is never a gap', () => {
    const counts = new SkipCounts();
    // per-account matches only api=upload; this subject lacks the account but is not an upload.
    const s = { api: 'download', user: 'u' };
    const gap = gaps.scan(s, matched(s), counts, false);
    expect(counts.missingKey.has('per-account')).toBe(false);
    // per-user rejects: the subject lacks account.
    expect(gap?.refusal?.rule).toBe('per-user');
    const t = { api: 'upload', account: 'a', user: 'u' }; // lacks only ip, which is shared
    const m = matched(t);
    expect(m).toEqual([ACCOUNT, USER, IP]);
    expect(gaps.scan(t, m, counts, false)).toBeUndefined();
  });

  it('explain lists every rule not applied, and why', () => {
    const rules: CompiledRule[] = [ACCOUNT, USER, IP, GLOBAL];
    const g = new KeyGaps({ rules });
    expect(g.explain({ api: 'upload', user: 'u' }, [IP])).toEqual([
      { rule: 'per-account', reason: 'missing_key', missing: ['account'] },
      { rule: 'per-user', reason: 'missing_key', missing: ['account'] },
      { rule: 'global', reason: 'no_match' },
    ]);
    expect(g.explain({ api: 'admin', account: 'a', user: 'u', ip: 'x' }, [USER, IP, GLOBAL])).toEqual([{ rule: 'per-account', reason: 'no_match' }]);
  });
});
