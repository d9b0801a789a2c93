import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../src/envoy/index.js';
import { PolicyError, type PolicyIssue } from '../../src/policy/errors.js';
import { ADMIN, ONE_RULE_POLICY, start, stopAll, TOKENS, type Service } from '../server/support.js';

/**
 * One validation style on three surfaces — the decision API, the admin API and Envoy's YAML
 * config: the same bad input shape gets the same error shape (code, message, path, issues with
 * JSON paths; file and line for a file), and hostile input is a 400/422 JSON answer, never a 500.
 */
const GOOD_ENVOY = 'domain: d\ndescriptors:\n  - key: account\n    rate_limit: { unit: second, requests_per_unit: 5 }\n';

let s: Service;
let envoyFile: string;
beforeAll(async () => {
  envoyFile = join(mkdtempSync(join(tmpdir(), 'sluice-validation-')), 'rl.yaml');
  writeFileSync(envoyFile, GOOD_ENVOY);
  s = await start({ policy: ONE_RULE_POLICY, envoyConfig: envoyFile, ...TOKENS });
});
afterAll(stopAll);

function envoyIssues(text: string): PolicyIssue[] {
  try {
    loadEnvoyConfig([{ file: 'rl.yaml', text }]);
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('the config was accepted');
}

/** The issue of each surface for one bad input shape: [path, message]. */
const only = (issues: { path: string; message: string }[]) => issues.map((i) => [i.path, i.message]);

describe('the same bad input shape → the same error shape on every surface', () => {
  it('an unknown field', async () => {
    const decision = await s.post('/v1/check', { subject: { account: 'a' }, colour: 'red' });
    const admin = await s.call('PUT', '/v1/admin/overrides', { rule: 'account-per-minute', key: { account: 'a' }, limit: '1/1s', colour: 'red' }, ADMIN);
    const envoy = envoyIssues('domain: d\ncolour: red\ndescriptors: []\n');
    for (const r of [decision, admin]) {
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', path: 'colour', issues: [{ path: 'colour', message: expect.stringMatching(/^unknown field "colour" \(known fields: /) }] });
      expect(r.body.error.message).toBe(`colour: ${r.body.error.issues[0].message}`);
    }
    expect(envoy).toEqual([{ path: 'colour', message: 'unknown field "colour" (known fields: domain, descriptors)', file: 'rl.yaml', line: 2, column: 1 }]);
  });

  it('a misspelt field gets the same suggestion everywhere', async () => {
    const decision = await s.post('/v1/check', { subject: { account: 'a' }, costs: 1 });
    const envoy = envoyIssues('domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, request_per_unit: 1 }\n');
    expect(decision.body.error.issues[0]).toEqual({ path: 'costs', message: 'unknown field "costs" (did you mean "cost"?)' });
    expect(envoy[0]).toMatchObject({ path: 'descriptors[0].rate_limit.request_per_unit', message: 'unknown field "request_per_unit" (did you mean "requests_per_unit"?)', line: 4 });
  });

  it('a wrong type: the same words for the same type', async () => {
    const decision = await s.post('/v1/record', { subject: { account: 'a' }, outcome: { success: 'yes' } });
    const admin = await s.post('/v1/admin/inspect', { subject: 'acme' }, ADMIN);
    const envoy = envoyIssues('domain: d\ndescriptors:\n  - key: a\n    shadow_mode: "yes"\n');
    expect(decision.status).toBe(400);
    expect(only(decision.body.error.issues)).toEqual([['outcome.success', 'expected a boolean, got string']]);
    expect(admin.status).toBe(400);
    expect(admin.body.error).toMatchObject({ code: 'invalid_request', path: 'subject', issues: [{ path: 'subject', message: 'expected an object, got string' }] });
    expect(only(envoy)).toEqual([['descriptors[0].shadow_mode', 'expected a boolean, got string']]);
    expect(envoy[0].line).toBe(4);
  });

  it('a number out of range: 422 with the same wording', async () => {
    const decision = await s.post('/v1/record', { subject: { account: 'a' }, outcome: { status: 99 } });
    const envoy = envoyIssues('domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: -1 }\n');
    expect(decision.status).toBe(422);
    expect(decision.body.error).toMatchObject({ code: 'unprocessable_entity', path: 'outcome.status', message: 'outcome.status: must be from 100 to 599 (got 99)' });
    expect(only(envoy)).toEqual([['descriptors[0].rate_limit.requests_per_unit', 'must be from 0 to 4294967295 (got -1)']]);
  });

  it('a bad Envoy file through the admin API answers the same shape (422, path, issues with file and line)', async () => {
    writeFileSync(envoyFile, 'domain: d\ndescriptors:\n  - key: a\n    colour: red\n');
    try {
      const r = await s.post('/v1/admin/reload', undefined, ADMIN);
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'invalid_policy', path: 'descriptors[0].colour', issues: [expect.objectContaining({ path: 'descriptors[0].colour', file: envoyFile, line: 4, message: expect.stringMatching(/^unknown field "colour"/) })] });
    } finally {
      writeFileSync(envoyFile, GOOD_ENVOY);
    }
  });
});

describe('hostile bodies: 400/422 JSON, never 500', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const cases: [string, string, string | unknown, number][] = [
    ['deeply nested subject value', '/v1/check', `{"subject":{"a":${nested(5000)}}}`, 400],
    ['deeply nested body', '/v1/check', nested(100_000), 400],
    ['a huge batch', '/v1/check/batch', `{"checks":[${Array.from({ length: 200_000 }, () => '{}').join(',')}]}`, 422],
    ['a subject of 10,000 attributes', '/v1/check', { subject: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`a${i}`, i])) }, 422],
    ['__proto__ with an object value', '/v1/check', '{"subject":{"__proto__":{"polluted":true}}}', 400],
    ['__proto__ at the top', '/v1/check', '{"__proto__":{"polluted":true},"subject":{"a":"b"}}', 400],
    ['constructor.prototype', '/v1/record', '{"subject":{"a":"b"},"outcome":{"constructor":{"prototype":{"polluted":true}}}}', 400],
    ['a string body', '/v1/check', '"subject"', 400],
    ['a number body', '/v1/record', '42', 400],
    ['null', '/v1/check/batch', 'null', 400],
    ['checks that are not objects', '/v1/check/batch', '{"checks":[1,"x",null,[]]}', 400],
    ['a cost of 1e999', '/v1/check', '{"subject":{"a":"b"},"cost":1e999}', 422],
  ];
  it.each(cases)('%s → %d', async (_name, path, body, status) => {
    const r = await s.post(path, body);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(typeof r.body.error.code).toBe('string');
    expect(typeof r.body.error.message).toBe('string');
    if (status !== 400 || r.body.error.code !== 'invalid_json') expect(typeof r.body.error.path).toBe('string');
    expect(r.text.length).toBeLessThan(8_000); // one answer, not one line per bad item
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('admin bodies too: every problem named, bounded, no pollution', async () => {
    const many = await s.post('/v1/admin/reset', { subject: { account: 'a' }, rules: Array.from({ length: 50_000 }, (_, i) => i) }, ADMIN);
    expect(many.status).toBe(400);
    expect(many.body.error.issues.length).toBeLessThanOrEqual(20);
    const proto = await s.call('PUT', '/v1/admin/attributes/tenant/acme', '{"__proto__":{"polluted":true}}', ADMIN);
    expect(proto.status).toBe(400);
    const wrong = await s.call('PUT', '/v1/admin/overrides', '[1,2,3]', ADMIN);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_request', path: '' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the service still answers after all of it', async () => {
    expect((await s.post('/v1/check', { subject: { account: 'a' } })).status).toBe(200);
  });
});

describe('hostile Envoy files: a PolicyError with lines, never a crash', () => {
  it.each([
    ['__proto__ as a field', 'domain: d\ndescriptors:\n  - key: a\n    __proto__: { polluted: true }\n', /unknown field "__proto__"/],
    ['a descriptor that is a string', 'domain: d\ndescriptors:\n  - just a string\n', /a descriptor is a mapping/],
    ['rate_limit as a list', 'domain: d\ndescriptors:\n  - key: a\n    rate_limit: [1, 2]\n', /rate_limit is a mapping/],
    ['descriptors nested 200 deep', `domain: d\n${'descriptors: [{ key: a, '.repeat(200)}colour: 1${' }]'.repeat(200)}\n`, /unknown field "colour"/],
  ])('%s', (_name, text, message) => {
    const issues = envoyIssues(text);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.map((i) => i.message).join('\n')).toMatch(message);
    expect(issues.every((i) => typeof i.line === 'number')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
