import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/policy/errors.js';
import { loadPolicy, loadPolicyText } from '../../src/policy/load.js';
import { issuesAt, issuesOf } from './policy-support.js';

/**
 * What a user reads when a policy file is refused (src/policy/load.ts): the words of each kind of
 * mistake, the file, line and column it is reported at, and the order of several. Lines and
 * columns are counted by hand in the texts below (1-based, as editors show them).
 */
const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (t: string) => issuesOf(() => loadPolicyText(t, 'p.yaml'));
const at = issuesAt;
const KNOWN_RULE_FIELDS = 'name, description, match, key, limit, algorithm, burst, buckets, cost, count, block, action, response, shadow, scale, on_store_error, charge_rejected, on_missing_key';

describe('what is a path, what is text', () => {
  it('a one-line .yaml, .yml or .json name (any case, spaces around) is read as a file', () => {
    const body = 'rules:\n  - { name: from-file, limit: 1/1s }\n';
    for (const name of ['p.yaml', 'p.yml', 'P.YAML', 'p.json']) {
      const file = join(dir, name);
      writeFileSync(file, name.endsWith('json') ? JSON.stringify({ rules: [{ name: 'from-file', limit: '1/1s' }] }) : body);
      const p = loadPolicy(`  ${file} `);
      expect([p.rules[0].name, p.source], name).toEqual(['from-file', file]);
    }
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - { name: a, limit: 1/0s }\n');
    expect(issuesOf(() => loadPolicy(join(dir, 'bad.yaml')))).toEqual([{ path: 'rules[0].limit', message: 'the window in "1/0s" must be longer than zero', file: join(dir, 'bad.yaml'), line: 2, column: 23 }]);
  });

  it('a file that cannot be read is named, trimmed, with the reason', () => {
    expect(issuesOf(() => loadPolicy('  /nonexistent/p.YML '))).toEqual([{ path: '', message: "cannot read policy file: ENOENT: no such file or directory, open '/nonexistent/p.YML'", file: '/nonexistent/p.YML' }]);
    expect(new PolicyError(issuesOf(() => loadPolicy('/nonexistent/p.json'))).message).toBe("/nonexistent/p.json: cannot read policy file: ENOENT: no such file or directory, open '/nonexistent/p.json'");
  });

  it('anything else is policy text: a name with another ending is a YAML string, not a mapping', () => {
    const notMapping = { path: '', message: 'a policy is a mapping with at least a `rules:` list', line: 1 };
    for (const t of ['p.yamlx', 'p.yaml.txt', 'policy', 'null', '', '5']) expect(issuesOf(() => loadPolicy(t)), t).toEqual([notMapping]);
    expect(issuesOf(() => loadPolicy('x: 1\nfile: p.yaml')).map((i) => i.path)).toEqual(['rules', 'x', 'file']);
    // The file option names inline text and objects.
    expect(issuesOf(() => loadPolicy('rules:\n  - { name: a, limit: 1/0s }\n', { file: 'x.yaml' }))).toEqual([{ path: 'rules[0].limit', message: 'the window in "1/0s" must be longer than zero', file: 'x.yaml', line: 2, column: 23 }]);
    expect(issuesOf(() => loadPolicy({ rules: [{ name: 'a', limit: '1/0s' }] }, { file: 'x.yaml' }))).toEqual([{ path: 'rules[0].limit', message: 'the window in "1/0s" must be longer than zero', file: 'x.yaml' }]);
    expect(loadPolicy({ rules: [{ name: 'a', limit: '1/1s' }] }, { file: 'x.yaml' }).source).toBe('x.yaml');
  });
});

describe('YAML that does not parse', () => {
  it('is reported with the parser\'s first line of words, at its line and column', () => {
    expect(text('rules:\n  - name: a\n    limit: [60/1m\n')).toEqual([
      { path: '', message: 'Flow sequence in block collection must be sufficiently indented and end with a ] at line 4, column 1:', file: 'p.yaml', line: 4, column: 1 },
    ]);
  });
  it('a key given twice is an error, not the last one winning', () => {
    expect(text('rules:\n  - name: a\n    name: b\n    limit: 1/1s\n')).toEqual([{ path: '', message: 'Map keys must be unique at line 3, column 5:', file: 'p.yaml', line: 3, column: 5 }]);
  });
  it('text that is not a mapping is one issue at line 1', () => {
    for (const t of ['', 'hello', '- a', '42']) expect(text(t), t).toEqual([{ path: '', message: 'a policy is a mapping with at least a `rules:` list', file: 'p.yaml', line: 1 }]);
  });
});

describe('the words of each schema refusal', () => {
  it('an unknown field suggests the near miss, else lists the fields known there', () => {
    expect(at('rules:\n  - { name: a, limit: 1/1s, zzzzzzzzzz: 1 }\nzzzzzzzzzz: 1\nsubject: { jwt: { claims: {}, zzzzzzzzzz: 1 } }\n')).toEqual([
      `2:29 rules[0].zzzzzzzzzz: unknown field "zzzzzzzzzz" (known fields: ${KNOWN_RULE_FIELDS})`,
      '3:1 zzzzzzzzzz: unknown field "zzzzzzzzzz" (known fields: version, defaults, groups, rules, overrides, attributes, caps, routes, subject)',
      '4:31 subject.jwt.zzzzzzzzzz: unknown field "zzzzzzzzzz" (known fields: header, claims, secret, secret_env, public_key, public_key_file, issuer, audience, leeway, required, trust_unverified)',
    ]);
    expect(at('rules:\n  - name: a\n    limit: 1/1s\n    response: { stat: 1 }\ncaps:\n  - { name: c, max_items: [{ path: $.a, max: 1, maxx: 2 }] }\n')).toEqual([
      '4:17 rules[0].response.stat: unknown field "stat" (did you mean "status"?)',
      '6:49 caps[0].max_items[0].maxx: unknown field "maxx" (did you mean "max"?)',
    ]);
    // Inside a record (match's attribute names are the user's): no field list to offer.
    expect(at('rules:\n  - { name: a, limit: 1/1s, match: { api: { group: g, x: 1 } } }\ngroups: { g: [y] }\n')).toEqual(['2:55 rules[0].match.api.x: unknown field "x"']);
  });

  it('a bad choice lists the choices, with the near miss when there is one (never for a non-text value)', () => {
    expect(at('rules:\n  - { name: a, limit: 1/1s, algorithm: gcar, action: 5 }\n')).toEqual([
      '2:40 rules[0].algorithm: "gcar" is not one of sliding-log, sliding-window, fixed-window, gcra, rolling-quota, concurrency (did you mean "gcra"?)',
      '2:54 rules[0].action: "5" is not one of reject, drop',
    ]);
    // A literal that is not text (version: 1) keeps the schema's own words.
    expect(at('version: 2\nrules:\n  - { name: a, limit: 1/1s }\n')).toEqual(['1:10 version: Invalid input: expected 1']);
  });

  it('a value of none of a field\'s forms says the forms', () => {
    expect(at('rules:\n  - name: a\n    limit: 1/1s\n    cost: {}\n    scale: 5\n    key: 5\n    match: { a: {} }\n    count: [true]\n    block: 5\ncaps:\n  - { name: c, max_body: true }\n')).toEqual([
      '4:11 rules[0].cost: cost is a positive number, "bytes", or { attribute: name }',
      '5:12 rules[0].scale: scale is an attribute name or { attribute, of, default }',
      '6:10 rules[0].key: key is an attribute name or a list of them, e.g. [account] or [contact, question]',
      '7:17 rules[0].match.a: a match value is a value, a list, a glob such as "/v1/*", { group: name }, { not: value } or { exists: true }',
      '8:12 rules[0].count: count is request, failure, success, or a list of statuses such as [401, 403] or [4xx]',
      '9:12 rules[0].block: this value has none of the accepted forms',
      '11:26 caps[0].max_body: this value has none of the accepted forms',
    ]);
    expect(at('rules:\n  - { name: a, limit: [5] }\ncaps:\n  - { name: c, max_rows: 1, match: { a: {} } }\n')).toEqual([
      '2:23 rules[0].limit: write a limit like "60/1m", "1/3s" or "5GB/5d"',
      '4:41 caps[0].match.a: a match value is a value, a list, a glob such as "/v1/*", { group: name }, { not: value } or { exists: true }',
    ]);
  });

  it('a missing field is required, with its forms when it has several; it is placed at the mapping that lacks it', () => {
    expect(at('rules:\n  - name: a\n')).toEqual(['2:5 rules[0].limit: this field is required: write a limit like "60/1m", "1/3s" or "5GB/5d"']);
    expect(at('rules:\n  - limit: 1/1s\n')).toEqual(['2:5 rules[0].name: this field is required']);
    expect(at('rules:\n  - { name: a, limit: 1/1s }\nroutes:\n  - { path: /a }\noverrides:\n  - { key: {}, rule: a }\n')).toEqual([
      '4:5 routes[0].api: this field is required',
      '6:5 overrides[0].limit: this field is required: write a limit like "60/1m", "1/3s" or "5GB/5d"',
    ]);
    // An override's key is a mapping: the rule key's forms ("an attribute name or a list") are not offered for it.
    expect(at('rules:\n  - { name: a, limit: 1/1s }\noverrides:\n  - { rule: a, limit: 2/1s }\n')).toEqual(['4:5 overrides[0].key: this field is required']);
    expect(at('rulez: []\n')).toEqual(['1:1 rules: this field is required', '1:1 rulez: unknown field "rulez" (did you mean "rules"?)']);
    // Given but empty (null) is not missing: the forms, at the empty value just after the colon.
    expect(at('rules:\n  - name: a\n    limit:\n')).toEqual(['3:11 rules[0].limit: write a limit like "60/1m", "1/3s" or "5GB/5d"']);
    expect(at('rules: 5\n')).toEqual(['1:8 rules: Invalid input: expected array, received number']);
    // A flow mapping's key without a value has no value node: the key is pointed at.
    expect(at('rules:\n  - { name: a, limit }\n')).toEqual(['2:16 rules[0].limit: write a limit like "60/1m", "1/3s" or "5GB/5d"']);
  });
});

describe('where compile errors are placed', () => {
  it('at the value a path names, through mappings and sequences, flow or block', () => {
    expect(at('groups: { g: [x] }\nrules:\n  - name: a\n    limit: 1/1s\n    match:\n      api: { group: [g, h] }\n')).toEqual(['6:25 rules[0].match.api.group[1]: unknown group "h" (did you mean "g"?)']);
    expect(at('groups: { g: [x] }\nrules:\n  - name: a\n    limit: 1/1s\n    match:\n      api:\n        group:\n          - g\n          - zzzzz\n')).toEqual(['9:13 rules[0].match.api.group[1]: unknown group "zzzzz" (groups: g)']);
    expect(at('rules:\n  - { name: a, limit: 1/1s, key: [a], block: { for: 1m, key: [a, b] } }\n  - { name: c, limit: 1/1s, key: a, block: 1m, shadow: true }\n')).toEqual([
      '2:62 rules[0].block.key: the block\'s key must be part of the rule\'s key [a] ("b" is not)',
      '3:44 rules[1].block: a shadow rule only observes, so it cannot block; remove block or shadow',
    ]);
    // A path deeper than the document (a cap without max_*) stops at the deepest node found.
    expect(at('rules:\n  - { name: a, limit: 1/1s }\ncaps:\n  - name: c\n')).toEqual(['4:5 caps[0]: cap "c" sets no limit: give max_body, max_items, max_rows or max_file']);
  });
});

describe('several issues', () => {
  it('are listed in file order by line, then column, whether the schema or the compiler found them', () => {
    expect(at('rules:\n  - { name: a, limit: 1/0s, burst: 2 }\n  - { name: b, limit: 1/1s, colour: red }\n  - { name: c, limit: 1/0s, colour: red }\n').map((l) => l.split(': ')[0])).toEqual([
      '2:23 rules[0].limit',
      '2:36 rules[0].burst',
      '3:29 rules[1].colour',
      '4:23 rules[2].limit',
      '4:29 rules[2].colour',
    ]);
  });

  it('an issue the schema reported is not reported again by the compiler of the repaired copy', () => {
    // limit: [5] is refused by the schema; the repaired rule is set aside, so no second "limit" issue.
    expect(at('rules:\n  - { name: a, limit: [5], burst: 2 }\n  - { name: b, limit: 1/1s, burst: 2 }\n')).toEqual([
      '2:23 rules[0].limit: write a limit like "60/1m", "1/3s" or "5GB/5d"',
      '3:36 rules[1].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)',
    ]);
    // A cap's bad max_rows is dropped by the repair; "sets no limit" follows from that and is not reported.
    expect(at('rules:\n  - { name: a, limit: 1/1s }\ncaps:\n  - { name: c, max_rows: -1 }\n')).toEqual(['4:26 caps[0].max_rows: Too small: expected number to be >0']);
    // A route's missing api: the route goes; nothing follows from it.
    expect(at('rules:\n  - { name: a, limit: 1/1s }\nroutes:\n  - { path: /a }\n')).toEqual(['4:5 routes[0].api: this field is required']);
  });

  it('the rule names of a broken file are read past elements that are not rules', () => {
    expect(at('rules:\n  - null\n  - { name: a, limit: [5], key: [k] }\n  - { name: b, limit: 1/1s }\noverrides:\n  - { rule: a, key: { k: x }, limit: 2/1s }\n')).toEqual([
      '2:5 rules[0]: Invalid input: expected object, received null',
      '3:23 rules[1].limit: write a limit like "60/1m", "1/3s" or "5GB/5d"',
    ]);
  });

  it('an override naming a rule that only the broken part of the file defines is not "unknown"', () => {
    expect(at('rules:\n  - { name: a, limit: 1/1s, key: [k], colour: red }\n  - { nam: b, limit: 1/1s }\noverrides:\n  - { rule: a, key: { k: x }, limit: 2/1s }\n  - { rule: zzzzz, key: {}, limit: 2/1s }\n')).toEqual([
      `2:39 rules[0].colour: unknown field "colour" (known fields: ${KNOWN_RULE_FIELDS})`,
      '3:5 rules[1].name: this field is required',
      '3:7 rules[1].nam: unknown field "nam" (did you mean "name"?)',
      '6:13 overrides[1].rule: unknown rule "zzzzz"',
    ]);
  });
});
