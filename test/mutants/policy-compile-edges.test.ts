import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/index.js';
import { exactValues } from '../../src/policy/match.js';
import { issuesAt, issuesOf } from './policy-support.js';

/** The compiler's edges (src/policy/compile.ts) that test/mutants/policy-compile.test.ts leaves open. */
type Doc = Record<string, unknown>;
const one = (rule: Doc, extra: Doc = {}) => loadPolicy({ rules: [{ name: 'r', limit: '5/1m', ...rule }], ...extra }).rules[0];
const refused = (doc: Doc) => issuesOf(() => loadPolicy(doc)).map((i) => `${i.path}: ${i.message}`);

describe('rule names and overrides', () => {
  it('every later duplicate names the first rule of that name', () => {
    expect(refused({ rules: [{ name: 'r', limit: '1/1m' }, { name: 'r', limit: '1/1m' }, { name: 'r', limit: '1/1m' }] })).toEqual([
      'rules[1].name: duplicate rule name "r" (first used by rules[0])',
      'rules[2].name: duplicate rule name "r" (first used by rules[0])',
    ]);
  });

  it('an override of a duplicated name is checked against the first rule of that name', () => {
    const rules = [{ name: 'r', key: ['a'], limit: '1/1m' }, { name: 'r', key: ['b'], limit: '1/1m' }];
    expect(refused({ rules, overrides: [{ rule: 'r', key: { a: 'x' }, limit: '2/1m' }] })).toEqual(['rules[1].name: duplicate rule name "r" (first used by rules[0])']);
  });

  it('an override of a rule with errors is not checked against it: the rule\'s own errors come first', () => {
    expect(refused({ rules: [{ name: 'a', key: ['k'], limit: '1/1s', burst: 2 }], overrides: [{ rule: 'a', key: { x: 1 }, limit: '2/1s' }] })).toEqual([
      'rules[0].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)',
    ]);
  });

  it('an override key names the rule\'s attributes in any order; a wrong one is listed as given', () => {
    const ab = { rules: [{ name: 'r', key: ['a', 'b'], limit: '1/1m' }] };
    expect(loadPolicy({ ...ab, overrides: [{ rule: 'r', key: { b: 1, a: 2 }, limit: '2/1m' }] }).overrides[0].key).toEqual({ b: '1', a: '2' });
    expect(loadPolicy({ rules: [{ name: 'r', key: ['b', 'a'], limit: '1/1m' }], overrides: [{ rule: 'r', key: { a: 1, b: 2 }, limit: '2/1m' }] }).overrides).toHaveLength(1);
    expect(refused({ ...ab, overrides: [{ rule: 'r', key: { ip: 'x', b: 1 }, limit: '2/1m' }] })).toEqual([
      'overrides[0].key: rule "r" is keyed by [a, b], so the override\'s key must name exactly those attributes (got [ip, b])',
    ]);
    expect(refused({ ...ab, overrides: [{ rule: 'r', key: { a: 1 }, limit: '2/1m' }] })).toEqual([
      'overrides[0].key: rule "r" is keyed by [a, b], so the override\'s key must name exactly those attributes (got [a])',
    ]);
  });
});

describe('a policy with one rule and nothing else', () => {
  it('has no routes, caps, overrides, attributes or groups', () => {
    const p = loadPolicy({ rules: [{ name: 'a', limit: '1/1s' }] });
    expect([p.routes, p.caps, p.overrides, [...p.attributes], [...p.groups], p.subject]).toEqual([[], [], [], [], [], undefined]);
  });
});

describe('a rule set aside by the schema', () => {
  it('is not compiled: its placeholder never shows, even next to a rule named like it', () => {
    expect(refused({ rules: [{ limit: '1/1s' }, { name: 'set-aside-0', limit: '1/1s' }] })).toEqual(['rules[0].name: this field is required']);
  });
});

describe('caps', () => {
  it('any one of max_body, max_items, max_rows, max_file is a limit', () => {
    const cap = (c: Doc) => loadPolicy({ rules: [{ name: 'r', limit: '1/1m' }], caps: [{ name: 'c', ...c }] }).caps[0];
    expect(cap({ max_body: 10 })).toMatchObject({ maxBodyBytes: 10, maxFileBytes: undefined, maxRows: undefined, maxItems: undefined });
    expect(cap({ max_file: '1KB' })).toMatchObject({ maxBodyBytes: undefined, maxFileBytes: 1000 });
    expect(cap({ max_items: [{ path: '$.Az09_-', max: 2 }] }).maxItems).toEqual([{ path: '$.Az09_-', segments: ['Az09_-'], max: 2 }]);
    expect(cap({ max_items: [{ path: '$', max: 2 }, { path: '$[*][*].a', max: 3 }] }).maxItems!.map((m) => m.segments)).toEqual([[], ['*', '*', 'a']]);
    expect(cap({ max_body: 0 }).maxBodyBytes).toBe(0);
  });

  it('a size given as a number is checked as its text is: a negative one is refused (NaN and infinities by the schema)', () => {
    const caps = (c: Doc) => refused({ rules: [{ name: 'r', limit: '1/1m' }], caps: [{ name: 'c', ...c }] });
    expect(caps({ max_body: -5 })).toEqual(['caps[0].max_body: "-5" is negative: an amount must be 0 or more']);
    expect(caps({ max_file: Number.NaN })).toEqual(['caps[0].max_file: this value has none of the accepted forms']); // the schema's own refusal
    expect(caps({ max_body: Number.POSITIVE_INFINITY })).toEqual(['caps[0].max_body: this value has none of the accepted forms']);
    expect(issuesAt('rules: [{ name: r, limit: 1/1m }]\ncaps:\n  - { name: c, max_body: .inf, max_file: -1 }\n')).toEqual([
      '3:26 caps[0].max_body: this value has none of the accepted forms',
      '3:42 caps[0].max_file: "-1" is negative: an amount must be 0 or more',
    ]);
  });

  it('a cap\'s match is compiled', () => {
    const c = loadPolicy({ rules: [{ name: 'r', limit: '1/1m' }], caps: [{ name: 'c', max_rows: 1, match: { api: 'upload' } }] }).caps[0];
    expect([c.matches({ api: 'upload' }), c.matches({ api: 'other' }), c.matches({})]).toEqual([true, false, false]);
  });
});

describe('rule details', () => {
  it('a byte limit with an explicit fixed cost counts requests, by the request default algorithm', () => {
    const r = one({ limit: '5GB/1d', cost: 3, description: 'big' });
    expect([r.algorithm, r.cost, r.phase, r.quotaUnit, r.description]).toEqual(['sliding-window', { kind: 'fixed', units: 3 }, 'request', undefined, 'big']);
    expect(one({ limit: '1KB/1d', cost: 3 }).algorithm).toBe('sliding-log'); // 1 KB is 1000: not above EXACT_LOG_MAX
  });

  it('the policy item names the quota unit when it is not requests', () => {
    expect(one({ limit: '5GB/1d' }).policyItem).toBe('"r";q=5000000000;w=86400;qu="content-bytes"');
    expect(one({ limit: '5/1d', algorithm: 'concurrency' }).policyItem).toBe('"r";q=5;w=86400;qu="concurrent-requests"');
  });

  it('scale.of outside the key lists the key\'s attributes', () => {
    expect(refused({ rules: [{ name: 'r', limit: '1/1s', key: ['a', 'b'], scale: { attribute: 's', of: 'c' } }] })).toEqual(["rules[0].scale.of: scale.of must be one of the rule's key attributes [a, b]"]);
  });

  it('scale without a default, or with it left undefined, multiplies by 1', () => {
    expect(one({ key: ['t', 'u'], scale: { attribute: 's', of: 'u' } }).scale).toEqual({ attribute: 's', of: 'u', default: 1 });
    expect(one({ key: ['t', 'u'], scale: { attribute: 's', of: 'u', default: undefined } }).scale).toEqual({ attribute: 's', of: 'u', default: 1 });
  });

  it('shared from the defaults: the rule matches without its key; a rule\'s own choice wins', () => {
    const r = one({ key: 'account', match: { plan: 'free' } }, { defaults: { on_missing_key: 'shared' } });
    expect([r.onMissingKey, r.matches({ plan: 'free' }), r.matches({ plan: 'free', account: 'a' }), r.matches({ plan: 'pro', account: 'a' })]).toEqual(['shared', true, true, false]);
    const skip = one({ key: 'account', match: { plan: 'free' }, on_missing_key: 'skip' }, { defaults: { on_missing_key: 'shared' } });
    expect([skip.onMissingKey, skip.matches({ plan: 'free' }), skip.matchesIgnoringKey({ plan: 'free' })]).toEqual(['skip', false, true]);
  });

  it('the exact values a rule is indexed under', () => {
    expect(one({ match: { api: ['A', 'B'], route: '/v1/*' } }).exactMatch).toEqual({ api: new Set(['A', 'B']) });
    expect(one({ match: { route: '/v1/*' } }).exactMatch).toBeUndefined();
    expect(one({}).exactMatch).toBeUndefined();
  });
});

describe('exact values of a match', () => {
  const groups = new Map<string, ReadonlySet<string>>([
    ['g1', new Set(['x', 'y'])],
    ['g2', new Set(['z'])],
  ]);
  it('a value, a list without globs, and groups give their values as text; globs, not and exists give none', () => {
    expect(exactValues({ a: 'x', b: ['y', 1, true], c: '/v1/*', d: ['x', 'y?'], e: { group: ['g1', 'g2'] }, f: { group: 'g2' }, g: { not: 'x' }, h: { exists: true }, i: { group: 'nope' } }, groups)).toEqual({
      a: new Set(['x']),
      b: new Set(['y', '1', 'true']),
      e: new Set(['x', 'y', 'z']),
      f: new Set(['z']),
      i: new Set(),
    });
    expect(exactValues({ c: '*' }, groups)).toBeUndefined();
    expect(exactValues(undefined, groups)).toBeUndefined();
  });
});
