import { describe, expect, it } from 'vitest';
import { issues } from './support.js';
import { loadPolicy, loadPolicyText, parseDuration, parseLimit, parseSize } from '../../src/policy/index.js';


describe('units', () => {
  it('parses any window length', () => {
    expect(parseDuration('3s')).toBe(3000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('5d')).toBe(432_000_000);
    expect(parseDuration('minute')).toBe(60_000);
    expect(parseLimit('60/1m')).toEqual({ limit: 60, windowMs: 60_000, bytes: false });
    expect(parseLimit('1/3s')).toEqual({ limit: 1, windowMs: 3000, bytes: false });
    expect(parseLimit('3 per 3m')).toEqual({ limit: 3, windowMs: 180_000, bytes: false });
    expect(parseLimit('5GB/5d')).toEqual({ limit: 5e9, windowMs: 432_000_000, bytes: true });
    expect(parseLimit('90/minute').windowMs).toBe(60_000);
    expect(parseSize('10MB')).toBe(10_000_000);
    expect(parseSize('25MiB')).toBe(25 * 1024 * 1024);
  });
  it('explains bad units', () => {
    expect(() => parseDuration('3 fortnights')).toThrow(/unknown time unit "fortnights"/);
    expect(() => parseLimit('sixty/1m')).toThrow(/not a size/);
    expect(() => parseLimit('60/0s')).toThrow(/longer than zero/);
  });
});

describe('policy validation', () => {
  it('names file, line, column and field, and suggests the near miss for a misspelt field', () => {
    const found = issues(`rules:
  - name: a
    key: [account]
    limit: 60/1m
    limt: 5
`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file: 'policy.yaml', line: 5, path: 'rules[0].limt' });
    expect(found[0].message).toContain('did you mean "limit"?');
  });

  it('reports every problem at once, each at its line', () => {
    const found = issues(`groups:
  analytics: [Queue Size]
rules:
  - name: a
    match: { api: { group: analytcs } }
    limit: 60/0s
  - name: a
    limit: 1/1s
    shadow: true
    block: 1m
`);
    const byPath = Object.fromEntries(found.map((i) => [i.path, i]));
    expect(byPath['rules[0].match.api.group']).toMatchObject({ line: 5 });
    expect(byPath['rules[0].match.api.group'].message).toContain('did you mean "analytics"?');
    expect(byPath['rules[0].limit']).toMatchObject({ line: 6 });
    expect(byPath['rules[0].limit'].message).toContain('longer than zero');
    expect(byPath['rules[1].name'].message).toContain('duplicate rule name "a"');
    expect(byPath['rules[1].name'].line).toBe(7);
    expect(byPath['rules[1].block'].message).toContain('shadow rule only observes');
  });

  it('says a missing field is required', () => {
    const found = issues(`rules:
  - name: a
    key: [account]
`);
    expect(found[0]).toMatchObject({ path: 'rules[0].limit' });
    expect(found[0].message).toMatch(/^this field is required: write a limit like/);
  });

  it('refuses a negative limit', () => {
    const found = issues(`rules:
  - name: a
    limit: -5/1m
`);
    expect(found[0]).toMatchObject({ path: 'rules[0].limit', line: 3 });
    expect(found[0].message).toContain('negative');
  });

  it('refuses unknown algorithms and wrong types with the accepted forms', () => {
    const found = issues(`rules:
  - name: a
    limit: 5/1m
    algorithm: leaky
  - name: b
    limit: 10/1m
    cost: -1
    count: sometimes
`);
    const paths = found.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['rules[0].algorithm', 'rules[1].cost', 'rules[1].count']));
    expect(found.find((i) => i.path === 'rules[1].count')!.message).toContain('count is request, failure, success');
  });

  it('checks overrides against their rule', () => {
    const found = issues(`rules:
  - name: per-account
    key: [account]
    limit: 60/1m
overrides:
  - rule: per-acount
    key: { account: x }
    limit: 600/1m
  - rule: per-account
    key: { tenant: x }
    limit: 600/1m
`);
    expect(found[0].message).toContain('did you mean "per-account"?');
    expect(found[1].message).toContain('keyed by [account]');
  });

  it('refuses contradictions: burst without gcra, scale without a key, block key outside the rule key', () => {
    const found = issues(`rules:
  - name: a
    limit: 10/1s
    burst: 5
  - name: b
    limit: 1GB/1d
    scale: licensed_agents
  - name: c
    key: [contact, question]
    limit: 5/1m
    block: { for: 1m, key: [tenant] }
`);
    expect(found.map((i) => i.message).join('\n')).toMatch(/burst applies to the gcra algorithm only[\s\S]*needs a key[\s\S]*block's key must be part of the rule's key/);
  });

  it('reports YAML syntax errors with their line', () => {
    const found = issues(`rules:
  - name: a
    limit: [60/1m
`);
    expect(found[0].line).toBeGreaterThan(0);
  });

  it('reports an unreadable file by name', () => {
    expect(() => loadPolicy('/nonexistent/policy.yaml')).toThrow(/\/nonexistent\/policy.yaml: cannot read policy file/);
  });

  it('accepts JSON and objects as well as YAML', () => {
    expect(loadPolicyText('{"rules":[{"name":"a","limit":"1/1s"}]}').rules).toHaveLength(1);
    expect(loadPolicy({ rules: [{ name: 'a', limit: '1/1s' }] }).rules[0].params).toMatchObject({ limit: 1, windowMs: 1000 });
  });

  it('splits cap JSON paths into segments, arrays included', () => {
    const p = loadPolicy({ rules: [{ name: 'a', limit: '1/1s' }], caps: [{ name: 'c', max_items: [{ path: '$.contacts[*].phones', max: 5 }] }] });
    expect(p.caps[0].maxItems![0].segments).toEqual(['contacts', '*', 'phones']);
  });

  it('accepts a subject section for the HTTP front doors, and checks it', () => {
    const p = loadPolicyText('rules: [{ name: a, limit: 1/1s }]\nsubject:\n  headers: { x-account: account }\n  trusted_proxies: [10.0.0.0/8]\n');
    expect(p.subject).toEqual({ headers: { 'x-account': 'account' }, trusted_proxies: ['10.0.0.0/8'] });
    expect(issues('rules: [{ name: a, limit: 1/1s }]\nsubject:\n  headerz: {}\n')[0]).toMatchObject({ path: 'subject.headerz', line: 3 });
  });

  it('defaults to the exact rolling window for small limits and the O(1) counter for large ones', () => {
    const p = loadPolicy({ rules: [{ name: 'small', limit: '1000/1m' }, { name: 'large', limit: '1001/1m' }, { name: 'chosen', limit: '5000/1m', algorithm: 'sliding-log' }] });
    expect(p.rules.map((r) => r.algorithm)).toEqual(['sliding-log', 'sliding-window', 'sliding-log']);
  });

  it('infers the byte cost and the rolling quota from a byte limit', () => {
    const p = loadPolicy({ rules: [{ name: 'egress', key: 'tenant', limit: '5GB/5d' }] });
    expect(p.rules[0]).toMatchObject({ cost: { kind: 'bytes' }, algorithm: 'rolling-quota', phase: 'outcome', quotaUnit: 'content-bytes' });
  });
});
