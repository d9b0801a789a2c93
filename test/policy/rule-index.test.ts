import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { RuleIndex } from '../../src/policy/rule-index.js';

const NAMES = ['a', 'b', 'c', 'a*', 'b?', '1'];
const matchValueArb = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
  fc.record({ group: fc.constantFrom('g1', 'g2', ['g1', 'g2']) }),
  fc.record({ not: fc.constantFrom(...NAMES) }),
  fc.record({ exists: fc.boolean() }),
);
const ruleArb = fc.record({ match: fc.dictionary(fc.constantFrom('api', 'event', 'route'), matchValueArb, { maxKeys: 2 }), key: fc.constantFrom([], ['k']) });
const subjectArb = fc.record({
  api: fc.option(fc.constantFrom(...NAMES, 'ab', 'bb', ''), { nil: undefined }),
  event: fc.option(fc.constantFrom(...NAMES, 1), { nil: undefined }),
  route: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
  k: fc.option(fc.constantFrom('x', ''), { nil: undefined }),
});

describe('the rule index', () => {
  it('never rules out a rule that matches, and gives candidates in policy order', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 12 }), fc.array(subjectArb, { minLength: 1, maxLength: 20 }), (rules, subjects) => {
        const policy = loadPolicy({ groups: { g1: ['a', 'b'], g2: ['c', '1'] }, rules: rules.map((r, i) => ({ name: `r${i}`, limit: '1/1s', ...r })) });
        const index = new RuleIndex(policy.rules);
        for (const s of subjects) {
          const candidates = index.candidates(s);
          expect(candidates.map((r) => r.index)).toEqual([...candidates.map((r) => r.index)].sort((x, y) => x - y));
          expect(new Set(candidates).size).toBe(candidates.length);
          const matching = policy.rules.filter((r) => r.matches(s));
          for (const r of matching) expect(candidates).toContain(r);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('seed 001: 78 API names in 17 groups, one rule: an API in the list has one candidate, any other none', () => {
    const policy = loadPolicy('examples/contact-center-ai.yaml');
    const index = new RuleIndex(policy.rules);
    expect(index.candidates({ api: 'Create a Queue', account: 'a' }).map((r) => r.name)).toEqual(['account-per-minute']);
    expect(index.candidates({ api: 'Get Webhook Logs', account: 'a' })).toEqual([]);
  });

  it('1,000 rules on distinct APIs and one on every request: a subject gets two candidates, not 1,001', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => ({ name: `api-${i}`, match: { api: [`API ${i}`, `API ${i} (v2)`] }, key: 'account', limit: '10/1m' }));
    const policy = loadPolicy({ rules: [...rules, { name: 'everything', key: 'account', limit: '1000/1m' }] });
    const index = new RuleIndex(policy.rules);
    expect(index.candidates({ api: 'API 517 (v2)', account: 'a' }).map((r) => r.name)).toEqual(['api-517', 'everything']);
    expect(index.candidates({ api: 'unknown', account: 'a' }).map((r) => r.name)).toEqual(['everything']);
  });
});
