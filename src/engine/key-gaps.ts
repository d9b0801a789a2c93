import type { CompiledPolicy, CompiledRule, Subject } from '../policy/compiled.js';
import type { RuleIndex } from '../policy/rule-index.js';
import type { OpResult } from '../stores/store.js';
import { Decision, type SkippedRule } from './decision.js';

export type { SkippedRule } from './decision.js';

/** A rule a check did not apply, and why. */

/** What a rule does when a subject it matches lacks one of its key attributes. */
export type MissingKeyMode = 'skip' | 'reject' | 'shared';

/** Checks skipped per rule for a missing key attribute, and checks that matched no rule at all; kept across policy swaps. */
export class SkipCounts {
  noRule = 0;
  readonly missingKey = new Map<string, number>();
}

/** What a check found missing: the rules it skips (reported on the decision), or the refusal when a rule rejects. */
export interface KeyGap {
  skipped?: () => readonly SkippedRule[];
  refusal?: Decision;
}

/**
 * The slow side of a check, kept out of the engine's hot path: rules whose key a subject
 * lacks (`on_missing_key`), and the list of rules a check skipped, and why.
 *
 * A check pays one presence test per distinct key attribute of the policy (usually one to
 * three) when it matched a rule; only when an attribute is missing, or nothing matched, are
 * the rules looked at again. `shared` rules match without their key: the missing values
 * are filled with "" (never a present value, so no real key can share that bucket).
 */
export class KeyGaps {
  /** Some rule is `shared`: subjects are filled before matching. */
  readonly shared: boolean;
  private readonly rules: readonly CompiledRule[];
  private readonly keyAttrs: readonly string[];
  private readonly sharedAttrs: readonly string[];

  /** Which rules a subject may match ignoring its key (the engine's index; all rules when absent). */
  private readonly index?: RuleIndex;

  constructor(policy: Pick<CompiledPolicy, 'rules'>, index?: RuleIndex) {
    this.rules = policy.rules;
    this.index = index;
    this.keyAttrs = [...new Set(policy.rules.flatMap((r) => r.keyAttrs))];
    const shared = policy.rules.filter((r) => r.onMissingKey === 'shared');
    this.shared = shared.length > 0;
    this.sharedAttrs = [...new Set(shared.flatMap((r) => r.keyAttrs))];
  }

  /** The subject with "" for each missing key attribute of a shared rule (the subject itself when none is missing). */
  fill(subject: Subject): Subject {
    let out: Record<string, unknown> | undefined;
    for (const a of this.sharedAttrs) {
      if (present(subject[a])) continue;
      out ??= { ...subject };
      out[a] = '';
    }
    return (out as Subject | undefined) ?? subject;
  }

  /**
   * After matching: undefined when nothing was skipped (the hot path). Otherwise counts the
   * skips, and either says what to report or, when a rule rejects keyless subjects, the refusal.
   * `frontDoor` is the mode for rules that do not say (the gateway and middleware pass theirs).
   */
  scan(subject: Subject, matched: readonly CompiledRule[], counts: SkipCounts, legacyHeaders: boolean, frontDoor: MissingKeyMode = 'skip'): KeyGap | undefined {
    // Stryker disable next-line BooleanLiteral: the presence pre-test only skips the full scan, which finds nothing missing for a complete subject
    let complete = true;
    // Stryker disable next-line EqualityOperator,UpdateOperator: an index past the key attributes reads undefined (missing): the full scan, which finds nothing missing for a complete subject
    for (let i = 0; i < this.keyAttrs.length; i++) {
      if (!present(subject[this.keyAttrs[i]])) {
        complete = false;
        break;
      }
    }
    // Stryker disable next-line BlockStatement: without the fast answer the full scan answers the same for a complete subject
    if (complete) {
      if (matched.length > 0) return undefined;
      counts.noRule++;
      return { skipped: () => this.explain(subject, matched) };
    }
    let gaps: SkippedRule[] | undefined;
    // Only the rules the subject's values leave possible (the index rules out by `match`, which ignores keys).
    for (const rule of this.index?.candidates(subject) ?? this.rules) {
      if (rule.keyAttrs.length === 0 || rule.onMissingKey === 'shared' || matched.includes(rule) || !rule.matchesIgnoringKey(subject)) continue;
      const missing = rule.keyAttrs.filter((a) => !present(subject[a]));
      if (missing.length === 0) continue;
      counts.missingKey.set(rule.name, (counts.missingKey.get(rule.name) ?? 0) + 1);
      if ((rule.onMissingKey ?? frontDoor) === 'reject') return { refusal: refuse(rule, missing, legacyHeaders), skipped: () => this.explain(subject, matched) };
      (gaps ??= []).push({ rule: rule.name, reason: 'missing_key', missing });
    }
    if (matched.length === 0) counts.noRule++;
    if (gaps === undefined && matched.length > 0) return undefined;
    return { skipped: () => this.explain(subject, matched) };
  }

  /** Every rule of the policy that does not apply to the subject, and why (for decisions, `check` and admin inspect). */
  explain(subject: Subject, matched: readonly CompiledRule[]): SkippedRule[] {
    const out: SkippedRule[] = [];
    for (const rule of this.rules) {
      if (matched.includes(rule) || rule.matches(subject)) continue;
      if (!rule.matchesIgnoringKey(subject)) out.push({ rule: rule.name, reason: 'no_match' });
      else out.push({ rule: rule.name, reason: 'missing_key', missing: rule.keyAttrs.filter((a) => !present(subject[a])) });
    }
    return out;
  }
}

/** A refused decision naming the rule and the attributes the request must carry (400; the HTTP front doors make it 401 when auth supplies them). */
function refuse(rule: CompiledRule, missing: string[], legacyHeaders: boolean): Decision {
  const message = `The request lacks ${missing.map((a) => `"${a}"`).join(' and ')}, which rule "${rule.name}" needs to count it (it is keyed by [${rule.keyAttrs.join(', ')}]).`;
  const asRefusal: CompiledRule = { ...rule, action: 'reject', shadow: false, response: { status: 400, code: 'missing_key_attribute', message } };
  const result: OpResult = { allowed: false, blocked: false, limit: rule.params.limit, windowMs: rule.params.windowMs, remaining: 0, resetMs: 0, retryAfterMs: 0 };
  return Decision.of([asRefusal], { legacyHeaders, results: [result] });
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}
