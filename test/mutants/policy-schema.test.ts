import { describe, expect, it } from 'vitest';
import { loadPolicy, PolicyError } from '../../src/policy/index.js';

/**
 * The policy file's shape (src/policy/schema.ts): every field of every section is accepted, and
 * every pattern refuses what it should with its own words, at the field's path. A pattern is
 * probed at both anchors (a bad first character, a bad character after a good start) and with
 * one accepted name that uses every character it allows.
 */
type Doc = Record<string, unknown>;
const rule = { name: 'r', limit: '5/1m' };
const withRule = (extra: Doc): Doc => ({ rules: [rule], ...extra });

function refused(doc: Doc): string[] {
  try {
    loadPolicy(doc);
  } catch (e) {
    if (e instanceof PolicyError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}
const accepted = (doc: Doc) => expect(refused(doc)).toEqual([]);

const everything = {
  version: 1,
  defaults: { algorithm: 'gcra', on_store_error: 'closed', legacy_headers: true, response: { status: 503, message: 'busy', code: 'busy' }, on_missing_key: 'shared' },
  groups: { 'Aa0_.-': ['acme'] },
  rules: [
    {
      name: 'Ab9_.-z',
      description: 'every request field',
      match: { 'aZz9_.-': 'v', list: ['a', 1, true], g: { group: 'Aa0_.-' }, gl: { group: ['Aa0_.-'] }, n: { not: 'x' }, nl: { not: ['x', 2] }, e: { exists: true } },
      key: ['account', 'user'],
      limit: { count: 5, window: '1m' },
      algorithm: 'gcra',
      burst: 2,
      cost: { attribute: 'weight' },
      count: 'request',
      block: { for: '1m', key: 'account' },
      action: 'drop',
      response: { status: 429, message: 'm', code: 'a9_.-' },
      shadow: false,
      scale: { attribute: 'seats', of: 'user', default: 2 },
      on_store_error: 'open',
      charge_rejected: true,
      on_missing_key: 'skip',
    },
    { name: 'bytes', key: 'tenant', limit: '5GB/1d', buckets: 10, cost: 'bytes', count: [401, '4xx', '5xx', '1xx', '599'], scale: 'seats', on_missing_key: 'reject' },
    { name: 'failures', limit: '3/1m', count: 'failure', block: '5m', algorithm: 'fixed-window' },
    { name: 'successes', limit: '3/1m', count: 'success', cost: 2, action: 'reject', algorithm: 'sliding-window' },
    { name: 'inflight', limit: '3/1m', algorithm: 'concurrency', on_store_error: 'closed' },
    { name: 'quota', limit: '3/1m', algorithm: 'rolling-quota' },
    { name: 'log', limit: '3/1m', algorithm: 'sliding-log', shadow: true },
  ],
  overrides: [{ rule: 'Ab9_.-z', key: { account: 'a', user: 7 }, limit: '10/1m', expires: '2030-01-01T00:00:00Z', reason: 'deal' }],
  attributes: { tenant: { acme: { seats: 3 } } },
  caps: [{ name: 'Ab9_.:-', description: 'd', match: { api: 'x' }, max_body: '1MB', max_items: [{ path: '$.Az09_-[*].b', max: 1 }], max_rows: 1, max_file: 10, response: { status: 413, message: 'too big', code: 'too_big' } }],
  routes: [
    { method: ['GET', 'head'], path: '/v1/:id', api: 'x', set: { a: 1 } },
    { method: 'POST', path: '/', api: 'y' },
  ],
  subject: {
    headers: { "Aa0!#$%&'*+.^_`|~-": 'account' },
    set: { region: 'eu' },
    api_keys: { header: 'x-key', required: true, keys: { k_live_123: { account: 'a' } } },
    jwt: {
      header: 'authorization',
      claims: { sub: 'user' },
      secret: 's'.repeat(16),
      secret_env: 'JWT_SECRET',
      public_key: 'PEM',
      public_key_file: '/etc/key.pem',
      issuer: 'i',
      audience: 'a',
      leeway: 3600,
      required: true,
      trust_unverified: false,
    },
    trusted_proxies: ['loopback'],
    ip_attribute: 'ip',
    ip_prefix: { v4: 32, v6: 128 },
  },
};

describe('every field of every section is accepted', () => {
  it('a policy that uses them all loads, and keeps what it was given', () => {
    const p = loadPolicy(everything);
    expect(p.rules.map((r) => r.name)).toEqual(['Ab9_.-z', 'bytes', 'failures', 'successes', 'inflight', 'quota', 'log']);
    expect(p.rules.map((r) => r.algorithm)).toEqual(['gcra', 'rolling-quota', 'fixed-window', 'sliding-window', 'concurrency', 'rolling-quota', 'sliding-log']);
    expect(p.subject).toEqual(everything.subject);
    expect(p.overrides).toHaveLength(1);
    expect(p.caps[0].response).toEqual({ status: 413, message: 'too big', code: 'too_big' });
    expect(p.routes.map((r) => r.set)).toEqual([{ a: 1 }, undefined]);
    expect(p.legacyHeaders).toBe(true);
    // The defaults section was read: a rule without its own gets them.
    expect(loadPolicy({ ...everything, rules: [rule], overrides: [] }).rules[0]).toMatchObject({ algorithm: 'gcra', onStoreError: 'closed', onMissingKey: 'shared', response: { status: 503, message: 'busy', code: 'busy' } });
    expect(loadPolicy({ defaults: { on_missing_key: 'reject', on_store_error: 'open' }, rules: [rule] }).rules[0]).toMatchObject({ onStoreError: 'open', onMissingKey: 'reject' });
    expect(loadPolicy({ defaults: { on_missing_key: 'skip' }, rules: [rule] }).rules[0].onMissingKey).toBe('skip');
  });

  it('a field no section knows is refused there', () => {
    const where = [
      ['defaults', { defaults: { algorithm: 'gcra', x: 1 } }],
      ['defaults.response', { defaults: { response: { x: 1 } } }],
      ['caps[0]', { caps: [{ name: 'c', max_rows: 1, x: 1 }] }],
      ['caps[0].max_items[0]', { caps: [{ name: 'c', max_items: [{ path: '$.a', max: 1, x: 1 }] }] }],
      ['routes[0]', { routes: [{ path: '/', api: 'a', x: 1 }] }],
      ['overrides[0]', { overrides: [{ rule: 'r', key: {}, limit: '1/1s', x: 1 }] }],
      ['subject', { subject: { x: 1 } }],
      ['subject.api_keys', { subject: { api_keys: { keys: {}, x: 1 } } }],
      ['subject.jwt', { subject: { jwt: { claims: {}, x: 1 } } }],
      ['subject.ip_prefix', { subject: { ip_prefix: { x: 1 } } }],
    ] as const;
    for (const [path, extra] of where) expect(refused(withRule(extra)).map((m) => m.split(':')[0]), path).toEqual([`${path}.x`]);
    expect(refused({ rules: [{ ...rule, match: { a: { group: 'g', x: 1 } } }], groups: { g: ['a'] } })).toEqual(['rules[0].match.a.x: unknown field "x"']);
    expect(refused({ rules: [{ ...rule, match: { a: { exists: 'yes' } } }] })).toEqual([
      'rules[0].match.a: a match value is a value, a list, a glob such as "/v1/*", { group: name }, { not: value } or { exists: true }',
    ]);
  });
});

describe('names: what each pattern refuses, in its own words', () => {
  it('attribute names start with a letter or _, then letters, digits, _ . -', () => {
    for (const name of ['aZz9_.-', 'Account', 'account', '_x', 'a']) accepted({ rules: [{ ...rule, key: name }] });
    for (const name of ['1a', '-a', 'a b', 'a:b', '']) expect(refused({ rules: [{ ...rule, match: { [name]: 'x' } }] }), name).toEqual([`rules[0].match.${name}: an attribute name: letters, digits, _ . -`]);
    expect(refused({ rules: [{ ...rule, key: 'a b' }] })).toEqual(['rules[0].key: an attribute name: letters, digits, _ . -']);
  });

  it('rule names start with a letter or digit, then letters, digits, _ . -', () => {
    for (const name of ['Ab9_.-z', 'rule', 'Rule', '9']) accepted({ rules: [{ ...rule, name }] });
    for (const name of ['-a', '.a', 'a b', 'a:b']) expect(refused({ rules: [{ ...rule, name }] }), name).toEqual(['rules[0].name: a rule name: letters, digits, _ . - (it appears in keys and headers)']);
  });

  it('cap names also allow :', () => {
    for (const name of ['Ab9_.:-', 'cap', 'Cap', '9']) accepted(withRule({ caps: [{ name, max_rows: 1 }] }));
    for (const name of ['-c', ':c', 'c d', 'c/d']) expect(refused(withRule({ caps: [{ name, max_rows: 1 }] })), name).toEqual(['caps[0].name: a cap name: letters, digits, _ . : -']);
  });

  it('group names: letters, digits, _ . - anywhere', () => {
    accepted(withRule({ groups: { 'Aa0_.-': ['x'], '-g': ['y'] } }));
    for (const name of ['a b', 'a:b', ' a']) expect(refused(withRule({ groups: { [name]: ['x'] } })), name).toEqual([`groups.${name}: a group name: letters, digits, _ . -`]);
  });

  it('header names are HTTP tokens', () => {
    for (const name of ['x y', 'x:', ' x', '(x)']) expect(refused(withRule({ subject: { headers: { [name]: 'a' } } })), name).toEqual([`subject.headers.${name}: a header name`]);
  });

  it('a response code: letters, digits, _ . -, any case', () => {
    for (const code of ['a9_.-', 'RATE_Limited']) accepted({ rules: [{ ...rule, response: { code } }] });
    for (const code of ['a b', ' a', 'a ', 'a/b', '']) expect(refused({ rules: [{ ...rule, response: { code } }] }), code).toEqual(['rules[0].response.code: a machine-readable code: letters, digits, _ . -']);
  });

  it('a counted status is 100..599, or a class 1xx..5xx', () => {
    accepted({ rules: [{ ...rule, count: [100, 599, '1xx', '5xx', '401', '599'] }] });
    const message = 'a status code such as 401 or a class such as 4xx';
    for (const s of ['6xx', '0xx', '40x', '4x', '4xxx', 'x4xx', '4011', 'a401', '4XX']) expect(refused({ rules: [{ ...rule, count: [s] }] }), s).toEqual([`rules[0].count[0]: ${message}`]);
  });

  it('a cap item path is $ then .field or [*] steps', () => {
    for (const path of ['$', '$.Az09_-', '$[*]', '$.a[*].b']) accepted(withRule({ caps: [{ name: 'c', max_items: [{ path, max: 1 }] }] }));
    for (const path of ['x$.a', '$.a b', '$.', '$a', '$[1]', '$..a', '$.a.', 'a']) {
      expect(refused(withRule({ caps: [{ name: 'c', max_items: [{ path, max: 1 }] }] })), path).toEqual(['caps[0].max_items[0].path: a JSON path like $.numbers or $.contacts']);
    }
  });

  it('a cap lists at least one item limit; a route names a non-empty API', () => {
    expect(refused(withRule({ caps: [{ name: 'c', max_items: [] }], routes: [{ path: '/', api: '' }] }))).toEqual([
      'caps[0].max_items: Too small: expected array to have >=1 items',
      'routes[0].api: Too small: expected string to have >=1 characters',
    ]);
    expect(loadPolicy(withRule({ routes: [{ path: '/', api: 'Send Message' }] })).routes[0].api).toBe('Send Message');
  });

  it('a route path starts with /', () => {
    for (const path of ['a/', 'v1/x', '']) expect(refused(withRule({ routes: [{ path, api: 'a' }] })), path).toEqual(['routes[0].path: a path pattern starting with /, e.g. /v1/recordings/:id']);
  });
});

describe('choices and bounds, in their own words', () => {
  it('each choice list is named in full when a value is not one of them', () => {
    const r = (f: Doc) => refused({ rules: [{ ...rule, ...f }] });
    expect(r({ algorithm: 'block' })).toEqual(['rules[0].algorithm: "block" is not one of sliding-log, sliding-window, fixed-window, gcra, rolling-quota, concurrency']);
    expect(r({ action: 'x' })).toEqual(['rules[0].action: "x" is not one of reject, drop']);
    expect(r({ on_store_error: 'x' })).toEqual(['rules[0].on_store_error: "x" is not one of open, closed']);
    expect(r({ on_missing_key: 'x' })).toEqual(['rules[0].on_missing_key: "x" is not one of skip, reject, shared']);
    expect(refused(withRule({ defaults: { on_store_error: 'x', on_missing_key: 'y', algorithm: 'z' } }))).toEqual([
      'defaults.algorithm: "z" is not one of sliding-log, sliding-window, fixed-window, gcra, rolling-quota, concurrency',
      'defaults.on_store_error: "x" is not one of open, closed',
      'defaults.on_missing_key: "y" is not one of skip, reject, shared',
    ]);
    expect(r({ count: 'sometimes' })).toEqual(['rules[0].count: count is request, failure, success, or a list of statuses such as [401, 403] or [4xx]']);
    expect(r({ cost: 'bytez' })).toEqual(['rules[0].cost: cost is a positive number, "bytes", or { attribute: name }']);
  });

  it('a policy needs a rule; secrets and API keys have a minimum length; prefixes are whole bits within the address', () => {
    expect(refused({ rules: [] })).toEqual(['rules: a policy needs at least one rule']);
    expect(refused(withRule({ subject: { api_keys: { keys: { short: { a: 1 } } } } }))).toEqual(['subject.api_keys.keys.short: API keys are at least 8 characters']);
    accepted(withRule({ subject: { api_keys: { keys: { '12345678': { a: 1 } } } } }));
    expect(refused(withRule({ subject: { jwt: { claims: {}, secret: 's'.repeat(15) } } }))).toEqual(['subject.jwt.secret: an HS256 secret of at least 16 characters']);
    expect(refused(withRule({ subject: { ip_prefix: { v4: 1.5, v6: 129 } } }))).toEqual(['subject.ip_prefix.v4: a whole number of bits', 'subject.ip_prefix.v6: an IPv6 prefix is 0 to 128 bits']);
    expect(refused(withRule({ subject: { ip_prefix: { v4: 33, v6: 2.5 } } }))).toEqual(['subject.ip_prefix.v4: an IPv4 prefix is 0 to 32 bits', 'subject.ip_prefix.v6: a whole number of bits']);
  });
});
