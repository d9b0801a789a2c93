import { describe, expect, it } from 'vitest';
import { loadPolicy, PolicyError, type PolicyIssue } from '../../src/policy/index.js';
import { EXACT_LOG_MAX } from '../../src/policy/compile.js';
import { formatIssue, formatPath } from '../../src/policy/errors.js';

/** What each policy field compiles to, and the message each semantic mistake gets, exactly. */
type Doc = Record<string, unknown>;
const one = (rule: Doc, extra: Doc = {}) => loadPolicy({ rules: [{ name: 'r', limit: '5/1m', ...rule }], ...extra }).rules[0];
function refused(doc: Doc): PolicyIssue[] {
  try {
    loadPolicy(doc);
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('expected the policy to be refused');
}
const refusedRule = (rule: Doc, extra: Doc = {}) => refused({ rules: [{ name: 'r', limit: '5/1m', ...rule }], ...extra }).map((i) => `${i.path}: ${i.message}`);

describe('a rule compiles to', () => {
  it('defaults: sliding log up to EXACT_LOG_MAX per window, then the sliding window counter; rolling quota for bytes', () => {
    expect(EXACT_LOG_MAX).toBe(1000);
    expect(one({ limit: '1000/1m' }).algorithm).toBe('sliding-log');
    expect(one({ limit: '1001/1m' }).algorithm).toBe('sliding-window');
    const bytes = one({ limit: '5GB/5d' });
    expect([bytes.algorithm, bytes.cost, bytes.phase, bytes.quotaUnit]).toEqual(['rolling-quota', { kind: 'bytes' }, 'outcome', 'content-bytes']);
    expect(one({ limit: '5/1m' }, { defaults: { algorithm: 'gcra' } }).algorithm).toBe('gcra');
    expect(one({ limit: '5/1m', algorithm: 'fixed-window' }, { defaults: { algorithm: 'gcra' } }).algorithm).toBe('fixed-window');
    expect(one({ limit: '5/1m', cost: 'bytes' }, { defaults: { algorithm: 'gcra' } }).algorithm).toBe('rolling-quota');
  });

  it('its parameters, key, cost and flags', () => {
    const r = one({ key: ['account', 'ip'], algorithm: 'gcra', burst: 9, cost: { attribute: 'weight' } });
    expect(r.params).toEqual({ limit: 5, windowMs: 60_000, burst: 9, buckets: undefined });
    expect([r.keyAttrs, r.blockKeyAttrs, r.cost, r.phase, r.index, r.name]).toEqual([['account', 'ip'], ['account', 'ip'], { kind: 'attribute', name: 'weight' }, 'request', 0, 'r']);
    expect(one({ key: 'account' }).keyAttrs).toEqual(['account']);
    expect(one({}).keyAttrs).toEqual([]);
    expect(one({ cost: 3 }).cost).toEqual({ kind: 'fixed', units: 3 });
    expect(one({}).cost).toEqual({ kind: 'fixed', units: 1 });
    const d = one({});
    expect([d.shadow, d.chargeRejected, d.action, d.onStoreError, d.blockMs, d.quotaUnit, d.onMissingKey]).toEqual([false, false, 'reject', 'open', 0, undefined, undefined]);
    const f = one({ shadow: true, charge_rejected: true, action: 'drop', on_store_error: 'closed', on_missing_key: 'reject' });
    expect([f.shadow, f.chargeRejected, f.action, f.onStoreError, f.onMissingKey]).toEqual([true, true, 'drop', 'closed', 'reject']);
    expect(one({}, { defaults: { on_store_error: 'closed', on_missing_key: 'skip' } })).toMatchObject({ onStoreError: 'closed', onMissingKey: 'skip' });
    expect(one({ algorithm: 'concurrency' }).quotaUnit).toBe('concurrent-requests');
    expect(one({ algorithm: 'rolling-quota', buckets: 12 }).params.buckets).toBe(12);
    expect(one({ limit: { count: 7, window: '2h' } }).params).toMatchObject({ limit: 7, windowMs: 7_200_000 });
    expect(one({ key: 'account' }).policyItem).toBe('"r";q=5;w=60');
  });

  it('a block: its duration and its key (the rule key or part of it)', () => {
    expect(one({ key: ['a', 'b'], block: '15m' })).toMatchObject({ blockMs: 900_000, blockKeyAttrs: ['a', 'b'] });
    expect(one({ key: ['a', 'b'], block: { for: '1h', key: 'b' } })).toMatchObject({ blockMs: 3_600_000, blockKeyAttrs: ['b'] });
    expect(one({ key: ['a', 'b'], block: { for: '1h', key: ['a'] } }).blockKeyAttrs).toEqual(['a']);
  });

  it('the response: the rule\'s, else the defaults\' (not for drop), else 429 / 202 with the limit in words', () => {
    expect(one({}).response).toEqual({ status: 429, message: 'Too many requests: limit of 5 per 1m reached.', code: 'rate_limited' });
    expect(one({ limit: '10MB/1d' }).response.message).toBe('Too many requests: limit of 10000000 bytes per 1d reached.');
    expect(one({ action: 'drop' }).response).toEqual({ status: 202, message: 'Accepted but not processed: limit of 5 per 1m reached.', code: 'dropped' });
    const defaults = { response: { status: 503, message: 'slow down', code: 'busy' } };
    expect(one({}, { defaults }).response).toEqual({ status: 503, message: 'slow down', code: 'busy' });
    expect(one({ action: 'drop' }, { defaults }).response).toEqual({ status: 202, message: 'Accepted but not processed: limit of 5 per 1m reached.', code: 'dropped' });
    expect(one({ response: { status: 420, message: 'm', code: 'c' } }, { defaults }).response).toEqual({ status: 420, message: 'm', code: 'c' });
    expect(one({ action: 'drop', response: { status: 200, message: 'm', code: 'c' } }).response).toEqual({ status: 200, message: 'm', code: 'c' });
  });

  it('scale: the attribute of the first key attribute, or of `of`, with its default', () => {
    expect(one({ key: ['tenant', 'user'], scale: 'seats' }).scale).toEqual({ attribute: 'seats', of: 'tenant', default: 1 });
    expect(one({ key: ['tenant', 'user'], scale: { attribute: 'seats', of: 'user', default: 4 } }).scale).toEqual({ attribute: 'seats', of: 'user', default: 4 });
    expect(one({ key: ['tenant'], scale: { attribute: 'seats', default: 0.5 } }).scale).toEqual({ attribute: 'seats', of: 'tenant', default: 0.5 });
    expect(one({ key: ['tenant'] }).scale).toBeUndefined();
  });

  it('match and the key: a rule applies only with every key attribute, except a shared one', () => {
    const r = one({ key: 'account', match: { plan: 'free' } });
    expect([r.matches({ plan: 'free', account: 'a' }), r.matches({ plan: 'free' }), r.matchesIgnoringKey({ plan: 'free' })]).toEqual([true, false, true]);
    const shared = one({ key: 'account', match: { plan: 'free' }, on_missing_key: 'shared' });
    expect(shared.matches({ plan: 'free' })).toBe(true);
    expect(shared.matches({ plan: 'pro' })).toBe(false);
    const grouped = one({ match: { account: { group: 'vip' } } }, { groups: { vip: ['acme'] } });
    expect([grouped.matches({ account: 'acme' }), grouped.matches({ account: 'x' })]).toEqual([true, false]);
  });
});

describe('outcome rules count', () => {
  const counts = (count: unknown) => one({ count }).counts;
  it('failure: success false, else a status ≥ 400; success: the opposite; nothing known counts for neither', () => {
    const f = counts('failure');
    expect([f({ success: false }), f({ success: true, status: 500 }), f({ status: 400 }), f({ status: 399 }), f({})]).toEqual([true, false, true, false, false]);
    const s = counts('success');
    expect([s({ success: true }), s({ success: false, status: 200 }), s({ status: 399 }), s({ status: 400 }), s({})]).toEqual([true, false, true, false, false]);
    expect(one({ count: 'failure' }).phase).toBe('outcome');
    expect(one({}).counts({})).toBe(true);
  });
  it('a status list: exact codes (numbers or text) and classes like 4xx', () => {
    const c = counts([401, '403', '5xx']);
    expect([401, 403, 500, 599, 402, 404, 499, 600].map((status) => c({ status }))).toEqual([true, true, true, true, false, false, false, false]);
    expect(c({})).toBe(false);
  });
});

describe('overrides, attributes, caps, routes, the rest', () => {
  const base = { rules: [{ name: 'r', key: ['account'], limit: '5/1m' }] };
  it('an override names a rule and its exact key; its values become text; expires is parsed', () => {
    const p = loadPolicy({ ...base, overrides: [{ rule: 'r', key: { account: 42 }, limit: '50/1m', expires: '2030-01-01T00:00:00Z', reason: 'deal' }] });
    expect(p.overrides).toEqual([{ rule: 'r', key: { account: '42' }, limit: 50, windowMs: 60_000, expiresAt: Date.UTC(2030, 0, 1), reason: 'deal' }]);
    expect(loadPolicy({ ...base, overrides: [{ rule: 'r', key: { account: 'a' }, limit: { count: 9, window: '1h' } }] }).overrides[0]).toMatchObject({ limit: 9, windowMs: 3_600_000, expiresAt: undefined });
  });

  it('attributes are keyed "attr:value"; routes upper-case their methods; defaults', () => {
    const p = loadPolicy({
      ...base,
      attributes: { tenant: { acme: { seats: 3 } } },
      routes: [{ path: '/a', api: 'a', method: 'get' }, { path: '/b', api: 'b', method: ['post', 'Put'] }, { path: '/c', api: 'c' }],
    });
    expect(p.attributes.get('tenant:acme')).toEqual({ seats: 3 });
    expect(p.routes.map((r) => (r.methods ? [...r.methods] : undefined))).toEqual([['GET'], ['POST', 'PUT'], undefined]);
    expect([p.legacyHeaders, p.source, p.ruleByName.get('r')?.name]).toEqual([false, '<inline>', 'r']);
    expect(loadPolicy({ ...base, defaults: { legacy_headers: true } }, { file: 'p.yaml' })).toMatchObject({ legacyHeaders: true, source: 'p.yaml' });
  });

  it('caps: sizes parsed, item paths split into segments', () => {
    const p = loadPolicy({ ...base, caps: [{ name: 'c', max_body: '1MB', max_file: '2KiB', max_rows: 10, max_items: [{ path: '$.contacts[*].phones', max: 5 }] }] });
    expect(p.caps[0]).toMatchObject({ name: 'c', maxBodyBytes: 1_000_000, maxFileBytes: 2048, maxRows: 10, maxItems: [{ path: '$.contacts[*].phones', segments: ['contacts', '*', 'phones'], max: 5 }] });
    expect(p.caps[0].matches({})).toBe(true);
    const q = loadPolicy({ ...base, caps: [{ name: 'd', max_rows: 1 }] });
    expect(q.caps[0]).toMatchObject({ maxBodyBytes: undefined, maxFileBytes: undefined, maxItems: undefined });
  });
});

describe('semantic mistakes, each with its place and words', () => {
  it('rule-level', () => {
    expect(refusedRule({ shadow: true, block: '1m' })).toEqual(['rules[0].block: a shadow rule only observes, so it cannot block; remove block or shadow']);
    expect(refusedRule({ burst: 3 })).toEqual(['rules[0].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)']);
    expect(refusedRule({ buckets: 3 })).toEqual(['rules[0].buckets: buckets applies to the rolling-quota algorithm only (this rule uses sliding-log)']);
    expect(refusedRule({ algorithm: 'concurrency', count: 'failure' })).toEqual(['rules[0].algorithm: a concurrency rule counts requests in flight; it cannot count outcomes or bytes']);
    expect(refusedRule({ algorithm: 'concurrency', cost: 'bytes' })).toContain('rules[0].algorithm: a concurrency rule counts requests in flight; it cannot count outcomes or bytes');
    expect(refusedRule({ block: '0s' })).toEqual(['rules[0].block: block must be longer than zero']);
    // A bad duration is reported once, not again as "must be longer than zero".
    expect(refusedRule({ block: { for: '2 parsecs' } })).toEqual(['rules[0].block.for: unknown time unit "parsecs" in "2 parsecs" (use ms, s, m, h, d or w)']);
    expect(refusedRule({ block: 'soon' })).toEqual(['rules[0].block: "soon" is not a duration (write it like 3s, 1m, 8h, 5d or 1h30m)']);
    expect(refusedRule({ limit: '2.5/1m' })).toEqual(['rules[0].limit: a request limit must be a whole number']);
    expect(one({ limit: '2.5/1m', cost: 'bytes' }).params.limit).toBe(2.5); // byte limits may be fractional
  });

  it('more rule-level', () => {
    expect(refusedRule({ charge_rejected: true, count: 'failure' })).toEqual(['rules[0].charge_rejected: charge_rejected applies to rules that count requests']);
    expect(refusedRule({ scale: 'seats' })).toEqual(['rules[0].scale: scale multiplies the limit by an attribute of the key, so the rule needs a key']);
    expect(refusedRule({ key: ['a'], scale: { attribute: 'seats', of: 'b' } })).toEqual(["rules[0].scale.of: scale.of must be one of the rule's key attributes [a]"]);
    expect(refusedRule({ key: ['a', 'b'], block: { for: '1m', key: 'c' } })).toEqual(['rules[0].block.key: the block\'s key must be part of the rule\'s key [a, b] ("c" is not)']);
    expect(refusedRule({ key: ['a', 'a'] })).toEqual(['rules[0].key: an attribute appears twice in the key']);
    expect(refusedRule({ limit: '5/0s' })).toEqual(['rules[0].limit: the window in "5/0s" must be longer than zero']);
  });

  it('policy-level: duplicate names, unknown groups and rules with a suggestion, override keys and dates, empty caps', () => {
    const dup = refused({ rules: [{ name: 'r', limit: '1/1m' }, { name: 'r', limit: '2/1m' }] });
    expect(dup.map((i) => `${i.path}: ${i.message}`)).toEqual(['rules[1].name: duplicate rule name "r" (first used by rules[0])']);
    expect(refusedRule({ match: { a: { group: 'vipp' } } }, { groups: { vip: ['x'], other: ['y'] } })).toEqual(['rules[0].match.a.group: unknown group "vipp" (did you mean "vip"?)']);
    expect(refusedRule({ match: { a: { group: ['vip', 'zzzzzz'] } } }, { groups: { vip: ['x'], other: ['y'] } })).toEqual(['rules[0].match.a.group[1]: unknown group "zzzzzz" (groups: vip, other)']);
    expect(refusedRule({ match: { a: { group: 'vip' } } })).toEqual(['rules[0].match.a.group: unknown group "vip" (the policy defines no groups)']);
    const base = { rules: [{ name: 'login', key: ['account'], limit: '5/1m' }] };
    expect(refused({ ...base, overrides: [{ rule: 'logni', key: { account: 'a' }, limit: '1/1m' }] }).map((i) => `${i.path}: ${i.message}`)).toEqual(['overrides[0].rule: unknown rule "logni" (did you mean "login"?)']);
    expect(refused({ ...base, overrides: [{ rule: 'zzzzzzzz', key: { account: 'a' }, limit: '1/1m' }] })[0].message).toBe('unknown rule "zzzzzzzz"');
    expect(refused({ ...base, overrides: [{ rule: 'login', key: { ip: 'a' }, limit: '1/1m' }] }).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'overrides[0].key: rule "login" is keyed by [account], so the override\'s key must name exactly those attributes (got [ip])',
    ]);
    expect(refused({ ...base, overrides: [{ rule: 'login', key: { account: 'a' }, limit: '1/1m', expires: 'someday' }] }).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'overrides[0].expires: "someday" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)',
    ]);
    expect(refused({ ...base, overrides: [{ rule: 'login', key: { account: 'a' }, limit: 'lots' }] }).map((i) => i.path)).toEqual(['overrides[0].limit']);
    expect(refused({ ...base, caps: [{ name: 'c' }] }).map((i) => `${i.path}: ${i.message}`)).toEqual(['caps[0]: cap "c" sets no limit: give max_body, max_items, max_rows or max_file']);
    expect(refused({ ...base, caps: [{ name: 'c', max_body: 'big', max_file: 'huge' }] }).map((i) => i.path)).toEqual(['caps[0].max_body', 'caps[0].max_file']);
    expect(refused({ ...base, caps: [{ name: 'c', max_rows: 1, match: { a: { group: 'g' } } }] }).map((i) => i.path)).toEqual(['caps[0].match.a.group']);
  });

  it('an override of a broken rule is not also "unknown"; a broken rule is left out, the good ones still checked', () => {
    const issues = refused({ rules: [{ name: 'bad', key: ['a'], limit: '1/1m', burst: 2 }, { name: 'ok', limit: '1/1m', buckets: 2 }], overrides: [{ rule: 'bad', key: { a: 'x' }, limit: '2/1m' }] });
    expect(issues.map((i) => i.path)).toEqual(['rules[0].burst', 'rules[1].buckets']);
  });

  it('issues are formatted file:line:column: path: message', () => {
    expect(formatIssue({ path: 'rules[0].limit', message: 'm', file: 'p.yaml', line: 3, column: 5 })).toBe('p.yaml:3:5: rules[0].limit: m');
    expect(formatIssue({ path: '', message: 'm' })).toBe('<policy>: m');
    expect(formatIssue({ path: 'a', message: 'm', line: 2 })).toBe('<policy>:2: a: m');
    expect(formatPath(['rules', 0, 'match', 'a', 'group', 1])).toBe('rules[0].match.a.group[1]');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(new PolicyError([{ path: 'a', message: 'm' }, { path: 'b', message: 'n' }]).message).toBe('<policy>: a: m\n<policy>: b: n');
    expect(new PolicyError([]).name).toBe('PolicyError');
  });
});
