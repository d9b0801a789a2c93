import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { RuleIndex } from '../../src/policy/rule-index.js';

/**
 * The rule index's exact candidates (src/policy/rule-index.ts): a rule with exact values is filed
 * under the attribute that files the most rules (the first of a tie), each subject looks its
 * value up, and the unfiled rules join every list, in policy order. The property test in
 * test/policy/rule-index.test.ts shows nothing is ruled out; these show nothing extra is let in.
 */
function indexOf(rules: Record<string, unknown>[], groups: Record<string, string[]> = {}) {
  const policy = loadPolicy({ groups: { none: ['-'], ...groups }, rules: rules.map((r, i) => ({ name: `r${i}`, limit: '1/1s', ...r })) });
  const index = new RuleIndex(policy.rules);
  return (subject: Record<string, unknown>) => index.candidates(subject as never).map((r) => r.name);
}

describe('the rule index files each rule once', () => {
  // api files r0, r1, r5 (3 rules); plan files r1, r2 (2): r1 goes under api. r3 has no match, r4 only a glob.
  // Built inside the test, not at collection: Stryker counts code run at collection as "static" and runs every test for it.
  const filed = () =>
    indexOf(
      [{ match: { api: ['A', 'B'] } }, { match: { plan: 'P', api: 'A' } }, { match: { plan: 'P' } }, {}, { match: { route: '/v1/*' } }, { match: { api: { group: 'g' } } }],
      { g: ['C'] },
    );

  it('under the attribute that files the most rules; the unfiled rules are candidates for all, in policy order', () => {
    const candidates = filed();
    expect(candidates({ api: 'A' })).toEqual(['r0', 'r1', 'r3', 'r4']);
    expect(candidates({ api: 'B' })).toEqual(['r0', 'r3', 'r4']);
    expect(candidates({ api: 'C' })).toEqual(['r3', 'r4', 'r5']); // a group's members, after the unfiled rules in policy order
    expect(candidates({ plan: 'P' })).toEqual(['r2', 'r3', 'r4']); // r1 is filed under api only
    expect(candidates({ plan: 'P', api: 'A' })).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']); // both lists merged, each once
    expect(candidates({ plan: 'P', api: 'C' })).toEqual(['r2', 'r3', 'r4', 'r5']);
    expect(candidates({ api: 'Z', plan: 'Q' })).toEqual(['r3', 'r4']);
    expect(candidates({})).toEqual(['r3', 'r4']);
  });

  it('an absent, null or empty value looks nothing up, even when a rule names "", "null" or "undefined"', () => {
    const c = indexOf([{ match: { api: '' } }, { match: { api: 'null' } }, { match: { api: 'undefined' } }, {}]);
    expect(c({ api: '' })).toEqual(['r3']);
    expect(c({ api: null })).toEqual(['r3']);
    expect(c({ api: undefined })).toEqual(['r3']);
    expect(c({})).toEqual(['r3']);
    expect(c({ api: 'null' })).toEqual(['r1', 'r3']);
    // An attribute may be called "undefined" too: it is looked up like any other, and files nothing here.
    expect(c({ undefined: 'null', api: 'null' })).toEqual(['r1', 'r3']);
    expect(indexOf([{ match: { undefined: 'x' } }, {}])({ undefined: 'x' })).toEqual(['r0', 'r1']);
  });

  it('a value that is not text is looked up as text', () => {
    const c = indexOf([{ match: { code: 200 } }, { match: { flag: true } }, { match: { code: '201' } }]);
    expect(c({ code: 200 })).toEqual(['r0']);
    expect(c({ code: '200' })).toEqual(['r0']);
    expect(c({ code: 201 })).toEqual(['r2']);
    expect(c({ flag: true })).toEqual(['r1']);
  });

  it('a tie files the rule under its first exact attribute', () => {
    const c = indexOf([{ match: { api: 'A', plan: 'P' } }]);
    expect(c({ api: 'A' })).toEqual(['r0']);
    expect(c({ plan: 'P' })).toEqual([]);
    // Counts decide over the order in the rule: plan files two rules, so r0 goes under plan.
    const d = indexOf([{ match: { api: 'A', plan: 'P' } }, { match: { plan: 'Q' } }]);
    expect(d({ api: 'A' })).toEqual([]);
    expect(d({ plan: 'P' })).toEqual(['r0']);
    expect(d({ plan: 'Q' })).toEqual(['r1']);
  });

  it('with no rule filed, every subject gets every rule; a filed list is shared, not rebuilt', () => {
    const c = indexOf([{}, { match: { api: 'a*' } }, { match: { api: { not: 'x' } } }]);
    expect(c({ api: 'ab' })).toEqual(['r0', 'r1', 'r2']);
    const policy = loadPolicy({ rules: [{ name: 'a', limit: '1/1s', match: { api: 'A' } }, { name: 'b', limit: '1/1s' }] });
    const index = new RuleIndex(policy.rules);
    expect(index.candidates({ api: 'A' })).toBe(index.candidates({ api: 'A' }));
    expect(index.candidates({ api: 'Z' })).toBe(index.unfiled);
    expect(index.unfiled.map((r) => r.name)).toEqual(['b']);
  });
});
