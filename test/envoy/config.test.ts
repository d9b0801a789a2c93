import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findLimit, loadEnvoyConfig } from '../../src/envoy/index.js';
import { PolicyError } from '../../src/policy/errors.js';

const examples = fileURLToPath(new URL('../../examples/envoy/', import.meta.url));

function issuesOf(text: string, file = 'rl.yaml'): PolicyError['issues'] {
  try {
    loadEnvoyConfig(text, { file });
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).issues;
  }
  throw new Error('expected a PolicyError');
}

describe('loading envoy ratelimit configs', () => {
  it("loads envoy's README example config as is", () => {
    const cfg = loadEnvoyConfig(join(examples, 'config.yaml'));
    const messaging = cfg.domains.get('messaging')!;
    expect(messaging.files).toEqual([join(examples, 'config.yaml')]);
    const marketing = findLimit(messaging, [
      { key: 'message_type', value: 'marketing' },
      { key: 'to_number', value: '2061111111' },
    ]);
    expect(marketing).toMatchObject({ requestsPerUnit: 5, unit: 'DAY', windowMs: 86_400_000, algorithm: 'fixed-window', path: 'message_type_marketing.to_number' });
    expect(findLimit(messaging, [{ key: 'to_number', value: '2061111111' }])).toMatchObject({ requestsPerUnit: 100, unit: 'DAY' });
    expect(findLimit(messaging, [{ key: 'message_type', value: 'marketing' }])).toBeUndefined();
  });

  it('loads a directory of files, one domain each, and the README examples', () => {
    expect([...loadEnvoyConfig(examples).domains.keys()].sort()).toEqual(['messaging', 'sluice_extensions']);
    const readme = loadEnvoyConfig(join(examples, 'readme'));
    expect([...readme.domains.keys()].sort()).toEqual(['edge_proxy_per_ip', 'example4', 'example6', 'example7', 'example8', 'example9', 'internal', 'mongo_cps']);
    expect(findLimit(readme.domains.get('example8')!, [{ key: 'key1', value: 'x' }])).toMatchObject({ requestsPerUnit: 10, detailedMetric: true });
    expect(findLimit(readme.domains.get('internal')!, [{ key: 'ldap', value: 'x' }])).toMatchObject({ unlimited: true });
  });

  it('reads the Sluice extensions: window, algorithm, block', () => {
    const d = loadEnvoyConfig(join(examples, 'sluice-extensions.yaml')).domains.get('sluice_extensions')!;
    expect(findLimit(d, [{ key: 'api', value: 'recordings' }, { key: 'tenant', value: 'acme' }])).toMatchObject({ windowMs: 3000, unit: 'UNKNOWN', algorithm: 'gcra', name: 'recording-audio' });
    expect(findLimit(d, [{ key: 'contact', value: 'c1' }, { key: 'question', value: 'q1' }])).toMatchObject({ windowMs: 60_000, unit: 'MINUTE', blockMs: 60_000, algorithm: 'sliding-log' });
    expect(findLimit(d, [{ key: 'path', value: '/v1/users' }, { key: 'account', value: 'a' }])).toMatchObject({ name: 'per-account' });
    // A window of exactly one unit reports that unit.
    const hourly = loadEnvoyConfig('domain: d\ndescriptors:\n  - key: k\n    rate_limit: { requests_per_unit: 1, window: 1h }\n').domains.get('d')!;
    expect(findLimit(hourly, [{ key: 'k', value: 'v' }])).toMatchObject({ unit: 'HOUR', windowMs: 3_600_000 });
  });

  it('accepts week, month and year, and numbers as descriptor values', () => {
    const d = loadEnvoyConfig(`domain: d
descriptors:
  - key: port
    value: 8080
    rate_limit: { unit: week, requests_per_unit: 7 }
  - key: m
    rate_limit: { unit: MONTH, requests_per_unit: 30 }
`).domains.get('d')!;
    expect(findLimit(d, [{ key: 'port', value: '8080' }])).toMatchObject({ unit: 'WEEK', windowMs: 7 * 86_400_000 });
    expect(findLimit(d, [{ key: 'm', value: 'x' }])).toMatchObject({ unit: 'MONTH', windowMs: 30 * 86_400_000 });
  });

  it('merges domains across files only when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-envoy-'));
    writeFileSync(join(dir, 'a.yaml'), 'domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1 }\n');
    writeFileSync(join(dir, 'b.yml'), 'domain: d\ndescriptors:\n  - key: b\n    rate_limit: { unit: second, requests_per_unit: 2 }\n');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    expect(() => loadEnvoyConfig(dir)).toThrow(/b\.yml:1:9: domain: duplicate domain "d"/);
    const merged = loadEnvoyConfig(dir, { mergeDomains: true }).domains.get('d')!;
    expect(merged.files).toHaveLength(2);
    expect(findLimit(merged, [{ key: 'b', value: 'x' }])).toMatchObject({ requestsPerUnit: 2 });
  });

  describe('errors name the file, line and field', () => {
    it('unknown fields, with a suggestion', () => {
      const issues = issuesOf(`domain: d
descriptors:
  - key: k
    rate_limit:
      unit: second
      request_per_unit: 5
`);
      expect(issues[0]).toMatchObject({ file: 'rl.yaml', line: 6, path: 'descriptors[0].rate_limit.request_per_unit' });
      expect(issues[0].message).toMatch(/did you mean "requests_per_unit"/);
    });

    it('every problem at once: bad unit, missing requests_per_unit, unlimited with a unit, duplicates', () => {
      const issues = issuesOf(`domain: d
descriptors:
  - key: a
    rate_limit:
      unit: fortnight
      requests_per_unit: 5
  - key: b
    rate_limit:
      unit: second
  - key: c
    rate_limit:
      unlimited: true
      unit: second
  - key: a
  - key: e
    rate_limit: { unit: second, requests_per_unit: -1 }
`);
      const by = (p: string) => issues.find((i) => i.path === p);
      expect(by('descriptors[0].rate_limit.unit')).toMatchObject({ line: 5, message: expect.stringMatching(/invalid rate limit unit "fortnight"/) });
      expect(by('descriptors[1].rate_limit.requests_per_unit')).toMatchObject({ line: 9, message: expect.stringMatching(/required/) });
      expect(by('descriptors[2].rate_limit.unit')).toMatchObject({ line: 13, message: expect.stringMatching(/should not specify rate limit unit when unlimited/) });
      expect(by('descriptors[3]')).toMatchObject({ line: 14, message: expect.stringMatching(/duplicate descriptor composite key "a"/) });
      expect(by('descriptors[4].rate_limit.requests_per_unit')).toMatchObject({ line: 16 });
    });

    it('Sluice extension values: window, algorithm, block', () => {
      const issues = issuesOf(`domain: d
descriptors:
  - key: a
    rate_limit:
      requests_per_unit: 1
      window: 3 fortnights
      algorithm: sliding_log
      block: soon
`);
      expect(issues.map((i) => [i.path, i.line])).toEqual([
        ['descriptors[0].rate_limit.window', 6],
        ['descriptors[0].rate_limit.block', 8],
        ['descriptors[0].rate_limit.algorithm', 7],
      ]);
      expect(issues[2].message).toMatch(/did you mean "sliding-log"/);
    });

    it('replaces entries', () => {
      const issues = issuesOf(`domain: d
descriptors:
  - key: a
    rate_limit:
      name: me
      unit: second
      requests_per_unit: 1
      replaces:
        - name: me
        - name: ""
`);
      expect(issues.map((i) => [i.path, i.line])).toEqual([
        ['descriptors[0].rate_limit.replaces[0].name', 9],
        ['descriptors[0].rate_limit.replaces[1].name', 10],
      ]);
    });

    it('YAML syntax errors, an empty domain, a descriptor without a key', () => {
      expect(issuesOf('domain: d\ndescriptors:\n  - key: a\n   rate_limit: [\n')[0]).toMatchObject({ file: 'rl.yaml', line: expect.any(Number) });
      expect(issuesOf('descriptors: []\n')[0]).toMatchObject({ path: 'domain', message: expect.stringMatching(/empty domain/) });
      expect(issuesOf('domain: d\ndescriptors:\n  - value: x\n')[0]).toMatchObject({ path: 'descriptors[0].key', line: 3 });
      expect(issuesOf('domain: d\ndescriptors: { key: a }\n')[0]).toMatchObject({ path: 'descriptors', line: 2 });
    });

    it('a missing file', () => {
      expect(() => loadEnvoyConfig('/nonexistent/ratelimit.yaml')).toThrow(/nonexistent\/ratelimit.yaml: cannot read envoy config/);
    });
  });
});
