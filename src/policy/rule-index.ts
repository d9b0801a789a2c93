import type { CompiledRule, Subject } from './compiled.js';

/**
 * Which rules a subject may match, found in time that does not grow with the policy: a
 * rule whose `match` names exact values of an attribute (api: [Send Message, …], a group
 * of 78 API names) is filed under each of those values, and a subject looks its own value
 * up instead of every rule testing it. Rules without such a test are candidates for every
 * subject. Candidates still go through rule.matches (the index only rules out), in policy
 * order. Built when a policy is loaded; measured on seed 001 (78 API names in 17 groups,
 * one rule) and a 1,000-rule policy in test/policy/rule-index.test.ts.
 */
export class RuleIndex {
  /** Per indexed attribute: its value → the candidates of a subject with that value (filed ∪ unfiled, policy order). */
  private readonly byValue: { attr: string; lists: Map<string, readonly CompiledRule[]> }[] = [];
  /** The candidates of a subject no indexed value of which names a rule: the unfiled rules. */
  readonly unfiled: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[]) {
    // File each rule under the attribute that files the most rules (so most subjects look up one map).
    const counts = new Map<string, number>();
    for (const r of rules) for (const attr of Object.keys(r.exactMatch ?? {})) counts.set(attr, (counts.get(attr) ?? 0) + 1);
    const filedUnder = new Map<CompiledRule, string>();
    for (const r of rules) {
      let best: string | undefined;
      for (const attr of Object.keys(r.exactMatch ?? {})) if (best === undefined || counts.get(attr)! > counts.get(best)!) best = attr;
      if (best !== undefined) filedUnder.set(r, best);
    }
    this.unfiled = rules.filter((r) => !filedUnder.has(r));
    for (const attr of new Set(filedUnder.values())) {
      const filed = new Map<string, CompiledRule[]>();
      for (const r of rules) {
        if (filedUnder.get(r) !== attr) continue;
        for (const v of r.exactMatch![attr]) {
          let list = filed.get(v);
          if (!list) filed.set(v, (list = []));
          list.push(r);
        }
      }
      const lists = new Map<string, readonly CompiledRule[]>();
      for (const [v, list] of filed) lists.set(v, inPolicyOrder(list, this.unfiled));
      this.byValue.push({ attr, lists });
    }
  }

  /** The rules a subject may match, in policy order: a shared array, never to be changed. */
  candidates(subject: Subject): readonly CompiledRule[] {
    const byValue = this.byValue;
    let found: readonly CompiledRule[] | undefined;
    for (let i = 0; i < byValue.length; i++) {
      const v = subject[byValue[i].attr];
      if (v === undefined || v === null || v === '') continue;
      // Stryker disable next-line ConditionalExpression,StringLiteral: String(v) of a string is v; the test only spares the call
      const list = byValue[i].lists.get(typeof v === 'string' ? v : String(v));
      if (list === undefined) continue;
      // A subject with values filed under two attributes (rare): both lists, merged.
      found = found === undefined ? list : inPolicyOrder(found, list);
    }
    return found ?? this.unfiled;
  }
}

/** Two lists of rules as one, each rule once, in policy order. */
function inPolicyOrder(a: readonly CompiledRule[], b: readonly CompiledRule[]): readonly CompiledRule[] {
  return [...new Set([...a, ...b])].sort((x, y) => x.index - y.index);
}
