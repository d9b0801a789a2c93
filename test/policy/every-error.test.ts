import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { issues } from './support.js';
import { loadPolicyText, type PolicyIssue } from '../../src/policy/index.js';

/** Validation collects every error in one pass, without errors that follow only from another. */


const summary = (found: PolicyIssue[]) => found.map((i) => `${i.path}: ${i.message}`);

describe('every error at once', () => {
  it('a misspelt field does not hide a zero window in the same rule', () => {
    const found = summary(issues(`rules:\n  - name: a\n    limit: 5/0s\n    algoritm: gcra\n`));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^rules\[0\]\.limit: .*longer than zero/);
    expect(found[1]).toMatch(/^rules\[0\]\.algoritm: unknown field "algoritm" \(did you mean "algorithm"\?\)/);
  });

  it('a bad algorithm does not hide burst-without-gcra or block-on-shadow, judged by the algorithm meant', () => {
    const found = summary(issues(`rules:\n  - name: b\n    limit: 5/1m\n    algorithm: sliding-lgo\n    burst: 3\n    shadow: true\n    block: 1m\n`));
    expect(found).toEqual([
      expect.stringMatching(/^rules\[0\]\.algorithm: "sliding-lgo" is not one of .* \(did you mean "sliding-log"\?\)/),
      expect.stringMatching(/^rules\[0\]\.burst: burst applies to the gcra algorithm only \(this rule uses sliding-log\)/),
      expect.stringMatching(/^rules\[0\]\.block: a shadow rule only observes/),
    ]);
  });

  it('a misspelt gcra is taken as gcra, so its burst is not also an error', () => {
    const found = summary(issues(`rules:\n  - name: b\n    limit: 5/1m\n    algorithm: gcar\n    burst: 3\n`));
    expect(found).toEqual([expect.stringMatching(/did you mean "gcra"/)]);
  });

  it('an override naming a broken rule is not reported as an unknown rule', () => {
    for (const broken of ['limit: 60/0m', 'limit: 60/1m\n    algoritm: gcra', 'limit: [60]', 'name2: x\n    limit: 60/1m']) {
      const found = summary(issues(`rules:\n  - name: account-per-minute\n    key: [account]\n    ${broken}\noverrides:\n  - { rule: account-per-minute, key: { account: acme }, limit: 300/1m }\n`));
      expect(found.length, broken).toBeGreaterThan(0);
      expect(found.join('\n'), broken).not.toMatch(/unknown rule/);
    }
  });

  it('still reports an override naming no rule of the file, next to schema errors', () => {
    const found = summary(issues(`rules:\n  - name: a\n    limit: 1/1s\n    colour: red\noverrides:\n  - { rule: account-per-minute, key: {}, limit: 300/1m }\n`));
    expect(found).toEqual([expect.stringMatching(/colour/), expect.stringMatching(/^overrides\[0\]\.rule: unknown rule "account-per-minute"/)]);
  });

  it('errors in several rules and caps are all listed, in file order', () => {
    const found = issues(`rules:
  - { name: a, limit: 1/0s, colour: red }
  - { name: b, limit: 2/1m, match: { api: { group: nope } } }
  - { name: c, limit: 2/1m, algorithm: fixed, buckets: 3 }
caps:
  - { name: sheet, max_rows: -1 }
`);
    expect(found.map((i) => i.path)).toEqual(['rules[0].limit', 'rules[0].colour', 'rules[1].match.api.group', 'rules[2].algorithm', 'rules[2].buckets', 'caps[0].max_rows']);
    const lines = found.map((i) => i.line ?? 0);
    expect([...lines].sort((x, y) => x - y)).toEqual(lines);
  });

  it("the README's policy reference validates as written", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Policy reference'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    const policy = loadPolicyText(yaml, 'README.md#policy-reference');
    expect(policy.rules.map((r) => r.name)).toEqual(['account-per-minute']);
    expect(policy.overrides).toHaveLength(1);
  });
});
