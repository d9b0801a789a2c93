import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repairDocument } from '../../src/policy/repair.js';
import { policySchema } from '../../src/policy/schema.js';
import { issuesAt } from './policy-support.js';

/**
 * The repair that lets one pass report every error (src/policy/repair.ts): what the schema refused
 * is taken out, or set to the choice meant, so the compiler still judges the rest; what follows
 * only from the repair is not reported; what cannot be repaired stops at the schema's issues.
 */
const repair = (doc: unknown) => {
  const parsed = policySchema.safeParse(doc);
  if (parsed.success) throw new Error('the document is valid');
  return repairDocument(doc, policySchema, parsed.error.issues);
};

describe('what the repair does to a refused document', () => {
  it('drops an unknown field, a bad value, and a list with a bad element; the original is untouched', () => {
    const doc = { rules: [{ name: 'a', limit: '1/1s', colour: 'red', cost: -1, key: ['k', 5] }], caps: [{ name: 'c', max_rows: 1, max_items: [{ path: 'x', max: 1 }] }] };
    const copy = structuredClone(doc);
    const r = repair(doc)!;
    expect(r.data).toEqual({ rules: [{ name: 'a', limit: '1/1s' }], caps: [{ name: 'c', max_rows: 1 }] });
    expect(r.setAside).toEqual(new Set());
    // The item first loses its bad path, then (now missing a required field) its list.
    expect([...r.touched].sort()).toEqual(['caps[0].max_items[0].path', 'caps[0].max_items[0].path', 'rules[0]', 'rules[0].cost', 'rules[0].key']);
    expect(doc).toEqual(copy);
  });

  it('a misspelt choice becomes the choice meant; one too far from any is dropped', () => {
    expect(repair({ rules: [{ name: 'a', limit: '1/1s', algorithm: 'gcar', action: 'zzzzzz' }] })!.data).toEqual({ rules: [{ name: 'a', limit: '1/1s', algorithm: 'gcra' }] });
    // A choice that is not text (version: 2) is dropped, not "corrected".
    expect(repair({ version: 2, rules: [{ name: 'a', limit: '1/1s' }] })!.data).toEqual({ rules: [{ name: 'a', limit: '1/1s' }] });
  });

  it('a rule without a usable name or limit, or not a mapping, is set aside: a placeholder keeps the indexes', () => {
    const r = repair({ rules: [{ limit: '1/1s', burst: 2 }, { name: 'b', limit: [5] }, 7, { name: 'd', limit: '1/1s' }] })!;
    expect(r.setAside).toEqual(new Set([0, 1, 2]));
    expect(r.data).toEqual({
      rules: [
        { name: 'set-aside-0', limit: '1/1s' },
        { name: 'set-aside-1', limit: '1/1s' },
        { name: 'set-aside-2', limit: '1/1s' },
        { name: 'd', limit: '1/1s' },
      ],
    });
    expect(r.touched).toEqual(['rules[0].name', 'rules[1].limit', 'rules[2]']);
  });

  it('a missing required field takes the object that needs it (a list element takes its list)', () => {
    expect(repair({ rules: [{ name: 'a', limit: '1/1s' }], routes: [{ path: '/a', api: 'x' }, { path: '/b' }], subject: { jwt: { secret: 's'.repeat(16) } } })!.data).toEqual({ rules: [{ name: 'a', limit: '1/1s' }], subject: {} });
  });

  it('nothing to save when the top level or the rules list itself is unusable', () => {
    expect(repair({ rules: 5 })).toBeUndefined();
    expect(repair({ rules: [] })).toBeUndefined();
    expect(repair({})).toBeUndefined();
  });

  it('gives up after eight rounds of repairs that do not converge', () => {
    // A level complains of its own `bad` only once no deeper level has one: each round's repair uncovers the next.
    const hasBad = (o: unknown): boolean => o !== null && typeof o === 'object' && ('bad' in o || hasBad((o as { a?: unknown }).a));
    const node: z.ZodType = z.strictObject({ a: z.lazy(() => node).optional(), bad: z.any().optional() }).refine((o) => !('bad' in o) || hasBad(o.a), { path: ['bad'] });
    const schema = z.strictObject({ d: node });
    const nest = (levels: number): unknown => (levels === 1 ? { bad: 1 } : { a: nest(levels - 1), bad: 1 });
    for (const [levels, repaired] of [[8, true], [9, false]] as const) {
      const doc = { d: nest(levels) };
      const r = repairDocument(doc, schema, schema.safeParse(doc).error!.issues);
      expect(r !== undefined, String(levels)).toBe(repaired);
    }
  });
});

describe('what the compiler then reports beside the schema', () => {
  it('the rest of the file: a rule error next to an unusable top-level field', () => {
    expect(issuesAt('groups: 5\nrules: [{name: a, limit: 1/0s}]')).toEqual(['1:9 groups: Invalid input: expected record, received number', '2:26 rules[0].limit: the window in "1/0s" must be longer than zero']);
    expect(issuesAt('defaults: 5\nrules:\n  - { name: a, limit: 1/0s }')).toEqual(['1:11 defaults: Invalid input: expected object, received number', '3:23 rules[0].limit: the window in "1/0s" must be longer than zero']);
    // A quoted version is not the number 1: refused, and the rest still checked (its choices are not text to suggest from).
    expect(issuesAt('version: "1"\nrules: [{ name: a, limit: 1/0s }]')).toEqual(['1:10 version: Invalid input: expected 1', '2:27 rules[0].limit: the window in "1/0s" must be longer than zero']);
    expect(issuesAt('rules: [{name: a, limit: 1/0s}]\noverrides: [{ key: {}, limit: 1/1s }]')).toEqual(['1:26 rules[0].limit: the window in "1/0s" must be longer than zero', '2:13 overrides[0].rule: this field is required']);
  });

  it('a rule judged without its bad value, or with the choice meant', () => {
    expect(issuesAt('rules:\n  - { name: a, limit: 1/1s, cost: -1, burst: 2 }')).toEqual(['2:35 rules[0].cost: Too small: expected number to be >0', '2:46 rules[0].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)']);
    expect(issuesAt('rules:\n  - { name: a, limit: 1/1s, algorithm: zzzzzz, burst: 2 }')).toEqual([
      '2:40 rules[0].algorithm: "zzzzzz" is not one of sliding-log, sliding-window, fixed-window, gcra, rolling-quota, concurrency',
      '2:55 rules[0].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)',
    ]);
    expect(issuesAt('defaults: { algorithm: gcar }\nrules:\n  - { name: a, limit: 1/1s, burst: 2 }')).toEqual([
      '1:24 defaults.algorithm: "gcar" is not one of sliding-log, sliding-window, fixed-window, gcra, rolling-quota, concurrency (did you mean "gcra"?)',
    ]);
  });

  it('nothing about a set-aside rule beyond the schema\'s words; the rules after it keep their indexes', () => {
    expect(issuesAt('rules:\n  - { limit: 1/1s, burst: 2 }\n  - { name: b, limit: 1/1s, burst: 2 }')).toEqual(['2:5 rules[0].name: this field is required', '3:36 rules[1].burst: burst applies to the gcra algorithm only (this rule uses sliding-log)']);
    expect(issuesAt('rules:\n  - { name: a, limit: 1/1s }\n  - 5\n  - { name: c, limit: 1/0s }')).toEqual(['3:5 rules[1]: Invalid input: expected object, received number', '4:23 rules[2].limit: the window in "1/0s" must be longer than zero']);
  });

  it('what follows only from a repair is not reported: an override key that lost its bad value', () => {
    expect(issuesAt('rules:\n  - { name: a, key: [account], limit: 1/1s }\noverrides:\n  - { rule: a, key: { account: [1] }, limit: 2/1s }')).toEqual(['4:32 overrides[0].key.account: this value has none of the accepted forms']);
    // …but an error of the same object that does not follow from it still is.
    expect(issuesAt('rules:\n  - { name: a, key: [account], limit: 1/1s }\noverrides:\n  - { rule: a, key: { account: [1] }, limit: 2/1s, expires: soon }')).toEqual([
      '4:32 overrides[0].key.account: this value has none of the accepted forms',
      '4:61 overrides[0].expires: "soon" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)',
    ]);
  });
});
