import { describe, expect, it } from 'vitest';
import { compileMatch, globToRegExp } from '../../src/policy/match.js';

/** `match:` as the policy reference defines it, one predicate form at a time. */
const groups = new Map<string, ReadonlySet<string>>([
  ['partners', new Set(['acme', 'globex'])],
  ['staff', new Set(['alice'])],
]);
const m = (match: Parameters<typeof compileMatch>[0], required: string[] = []) => compileMatch(match, groups, required);

describe('match predicates', () => {
  it('no match and no required attribute matches everything, even an empty subject', () => {
    expect(m(undefined)({})).toBe(true);
    expect(m({})({ plan: 'free' })).toBe(true);
  });

  it('an exact value matches that value only, compared as text; an absent or empty attribute never matches', () => {
    const p = m({ plan: 'free' });
    expect(p({ plan: 'free' })).toBe(true);
    expect(p({ plan: 'pro' })).toBe(false);
    expect(p({ plan: 'free ' })).toBe(false);
    expect(p({})).toBe(false);
    expect(m({ code: 200 })({ code: '200' })).toBe(true);
    expect(m({ code: '200' })({ code: 200 })).toBe(true);
    expect(m({ flag: true })({ flag: 'true' })).toBe(true);
    expect(m({ v: '' })({ v: '' })).toBe(false); // '' is absent
  });

  it('a list matches any of its values', () => {
    const p = m({ plan: ['free', 'trial'] });
    expect(p({ plan: 'free' })).toBe(true);
    expect(p({ plan: 'trial' })).toBe(true);
    expect(p({ plan: 'pro' })).toBe(false);
    expect(p({ plan: null })).toBe(false);
  });

  it('globs: * is any run (also empty), ? exactly one character, anchored at both ends; other regex characters are literal', () => {
    const p = m({ route: '/v1/*' });
    expect(p({ route: '/v1/' })).toBe(true);
    expect(p({ route: '/v1/a/b' })).toBe(true);
    expect(p({ route: '/v2/a' })).toBe(false);
    expect(p({ route: 'x/v1/a' })).toBe(false);
    const q = m({ id: 'a?c' });
    expect(q({ id: 'abc' })).toBe(true);
    expect(q({ id: 'ac' })).toBe(false);
    expect(q({ id: 'abbc' })).toBe(false);
    expect(q({ id: 'abcd' })).toBe(false);
    expect(globToRegExp('a.b*').test('a.bzz')).toBe(true);
    expect(globToRegExp('a.b*').test('axb')).toBe(false);
    for (const c of ['+', '^', '$', '{', '}', '(', ')', '|', '[', ']', '\\']) {
      expect(globToRegExp(`x${c}*`).test(`x${c}y`), c).toBe(true);
      expect(globToRegExp(`x${c}*`).test('xy'), c).toBe(false);
    }
  });

  it('a list mixing exact values and globs matches either kind', () => {
    expect(m({ route: '*' })({ route: '/anything' })).toBe(true); // a glob of wildcards only
    expect(m({ route: ['/a/*', '/b/*'] })({ route: '/a/x' })).toBe(true); // any one glob suffices
    const p = m({ route: ['/health', '/v1/*'] });
    expect(p({ route: '/health' })).toBe(true);
    expect(p({ route: '/v1/x' })).toBe(true);
    expect(p({ route: '/healthz' })).toBe(false);
  });

  it('group: a member of any named group; an unknown group has no members', () => {
    const p = m({ account: { group: 'partners' } });
    expect(p({ account: 'acme' })).toBe(true);
    expect(p({ account: 'alice' })).toBe(false);
    expect(p({})).toBe(false);
    const both = m({ account: { group: ['partners', 'staff'] } });
    expect(both({ account: 'alice' })).toBe(true);
    expect(both({ account: 'globex' })).toBe(true);
    expect(both({ account: 'bob' })).toBe(false);
    expect(m({ account: { group: 'nobody' } })({ account: 'acme' })).toBe(false);
  });

  it('not: anything but the values (one or a list), and an absent attribute is "not" them', () => {
    const p = m({ plan: { not: 'free' } });
    expect(p({ plan: 'pro' })).toBe(true);
    expect(p({ plan: 'free' })).toBe(false);
    expect(p({})).toBe(true);
    const q = m({ route: { not: ['/health', '/v1/*'] } });
    expect(q({ route: '/v1/x' })).toBe(false);
    expect(q({ route: '/health' })).toBe(false);
    expect(q({ route: '/v2' })).toBe(true);
  });

  it('exists: true needs a non-empty value, exists: false needs none', () => {
    const yes = m({ key: { exists: true } });
    const no = m({ key: { exists: false } });
    for (const [s, present] of [[{ key: 'k' }, true], [{ key: 0 }, true], [{ key: false }, true], [{}, false], [{ key: '' }, false], [{ key: null }, false]] as const) {
      expect(yes(s), JSON.stringify(s)).toBe(present);
      expect(no(s), JSON.stringify(s)).toBe(!present);
    }
  });

  it('required attributes must be present; every test must hold (one, two, or more of them)', () => {
    const one = m(undefined, ['account']);
    expect(one({ account: 'a' })).toBe(true);
    expect(one({ account: '' })).toBe(false);
    expect(one({})).toBe(false);

    const two = m({ plan: 'free' }, ['account']);
    expect(two({ plan: 'free', account: 'a' })).toBe(true);
    expect(two({ plan: 'free' })).toBe(false);
    expect(two({ plan: 'pro', account: 'a' })).toBe(false);

    const three = m({ plan: 'free', api: 'upload' }, ['account']);
    expect(three({ plan: 'free', api: 'upload', account: 'a' })).toBe(true);
    expect(three({ plan: 'free', api: 'upload' })).toBe(false);
    expect(three({ plan: 'free', account: 'a' })).toBe(false);
    expect(three({ api: 'upload', account: 'a' })).toBe(false);
  });
});
