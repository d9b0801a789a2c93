import { describe, expect, it } from 'vitest';
import { loadPolicy, loadPolicyText } from '../../src/policy/load.js';
import { issuesOf } from './policy-support.js';

/** Loading a policy at its edges: what is taken for a path, where an unknown field is reported, and every error of a broken rule set once. */
describe('loading a policy', () => {
  it('a text of several lines is YAML even when it ends like a file name', () => {
    const p = loadPolicy('rules:\n  - name: r\n    limit: 1/1s\n    description: see policy.yaml');
    expect(p.rules.map((r) => r.name)).toEqual(['r']);
  });

  it('a list is not a policy: one issue at line 1', () => {
    expect(issuesOf(() => loadPolicyText('- a\n- b\n', 'p.yaml'))).toEqual([{ path: '', message: 'a policy is a mapping with at least a `rules:` list', file: 'p.yaml', line: 1 }]);
  });

  it('an unknown field is reported at its key (line 4, column 5), not at its value', () => {
    const issues = issuesOf(() => loadPolicyText('rules:\n  - name: r\n    limit: 1/1s\n    limt: 2/1s\n', 'p.yaml'));
    expect(issues).toEqual([{ path: 'rules[0].limt', message: 'unknown field "limt" (did you mean "limit"?)', file: 'p.yaml', line: 4, column: 5 }]);
  });

  it('a rule whose limit does not parse is set aside; the other rules are still compiled and their errors reported', () => {
    const text = 'rules:\n  - name: a\n    limit: lots\n  - name: b\n    limit: 1/1s\n    burst: 2\n';
    const issues = issuesOf(() => loadPolicyText(text, 'p.yaml'));
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['rules[0].limit', 3],
      ['rules[1].burst', 6],
    ]);
    expect(issues[1].message).toBe('burst applies to the gcra algorithm only (this rule uses sliding-log)');
    // A limit of the wrong type (refused by the schema, not the compiler): the same.
    const typed = issuesOf(() => loadPolicyText(text.replace('limit: lots', 'limit: [5]'), 'p.yaml'));
    expect(typed.map((i) => [i.path, i.line])).toEqual([
      ['rules[0].limit', 3],
      ['rules[1].burst', 6],
    ]);
  });
});
