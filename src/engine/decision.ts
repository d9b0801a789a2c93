import { rateLimitHeaders } from '../headers/ratelimit-headers.js';
import type { Params } from '../algorithms/index.js';
import type { CompiledRule } from '../policy/compiled.js';
import type { OpResult } from '../stores/store.js';

export type Action = 'allow' | 'reject' | 'drop';

/** The store failed: per rule, whether it was decided by the local stand-in ('open') or refused ('closed'). */
export interface StoreFailure {
  message: string;
  handling: readonly ('open' | 'closed')[];
  /** What the store threw (undefined when the breaker was open and the store was not asked). */
  error?: unknown;
  /** The breaker was open: the store was not asked. */
  shortCircuited?: boolean;
}

/**
 * What a decision is read from besides the binding rule's figures. Checks decided in
 * place share one per policy; a decision over several rules (or after a store
 * failure) has its own, with every rule's result.
 */
export interface DecisionSource {
  /** The policy asks for the X-RateLimit-* headers too. */
  readonly legacyHeaders: boolean;
  /** Per matching rule, its result; absent for a lone rule decided in place (its figures are the binding ones). */
  readonly results?: readonly OpResult[];
  readonly failure?: StoreFailure;
}

/** How one matching rule saw the request. */
export interface RuleResult extends OpResult {
  name: string;
  shadow: boolean;
  /** Decided by the local stand-in because the store failed. */
  fallback?: boolean;
}

/** A rule a check did not apply, and why (see ./key-gaps.ts). */
export interface SkippedRule {
  rule: string;
  /** no_match: its `match` does not hold; missing_key: it matches, but the subject lacks a key attribute. */
  reason: 'no_match' | 'missing_key';
  /** The key attributes the subject lacks (missing_key). */
  missing?: string[];
}

/**
 * The answer to a check or record. `rule`, `status`, `message` and `code` come from
 * the binding rule: the refusing rule that frees up last, or, when admitted, the
 * rule closest to its limit. One Decision is made per check, and what a check
 * allocates is what the in-process hot path pays for most, so a Decision holds only
 * the binding rule's figures and what the rest is read from; `rules` and `headers`
 * are built each time they are read.
 */
export class Decision {
  readonly allowed: boolean;
  private readonly compiled: readonly CompiledRule[];
  /** Index of the binding rule in compiled; -1 when no (non-shadow) rule matched. */
  private readonly binding: number;
  /** The binding rule's figures (see the getters for when no rule binds; its limit is read from the source). */
  private readonly bindingRemaining: number;
  private readonly bindingResetMs: number;
  private readonly bindingRetryAfterMs: number;
  private readonly source: DecisionSource;
  /** Set on the rare checks that skipped a rule or matched none: the rules not applied, and why (built when read). */
  declare skippedFrom?: () => readonly SkippedRule[];
  /** A lone rule decided in place: the limit and window it was decided with (its own, an override's, or scaled). */
  private readonly loneParams: Params | undefined;
  /** A lone rule decided in place: refused by its block penalty (served, or just tripped). */
  private readonly loneBlocked: boolean;

  // Stryker disable next-line BooleanLiteral: loneBlocked is read only without results, i.e. from lone(), which always passes it
  private constructor(compiled: readonly CompiledRule[], source: DecisionSource, allowed: boolean, binding: number, remaining: number, resetMs: number, retryAfterMs: number, loneParams?: Params, loneBlocked = false) {
    this.allowed = allowed;
    this.compiled = compiled;
    this.binding = binding;
    this.bindingRemaining = remaining;
    this.bindingResetMs = resetMs;
    this.bindingRetryAfterMs = retryAfterMs;
    this.source = source;
    this.loneParams = loneParams;
    this.loneBlocked = loneBlocked;
  }

  /**
   * The decision over every rule a check or record matched, from the source's results
   * (one per rule, in the same order).
   */
  static of(compiled: readonly CompiledRule[], source: DecisionSource & { results: readonly OpResult[] }): Decision {
    const results = source.results;
    let binding = -1;
    let allowed = true;
    for (let i = 0; i < compiled.length; i++) {
      const r = results[i];
      if (compiled[i].shadow) continue;
      if (!r.allowed) {
        if (allowed || r.retryAfterMs > results[binding].retryAfterMs) binding = i;
        allowed = false;
      } else if (allowed && (binding < 0 || r.remaining / (r.limit || 1) < results[binding].remaining / (results[binding].limit || 1))) {
        binding = i;
      }
    }
    if (binding < 0) return new Decision(compiled, source, allowed, binding, 0, 0, 0);
    const b = results[binding];
    return new Decision(compiled, source, allowed, binding, b.remaining, b.resetMs, b.retryAfterMs);
  }

  /**
   * The decision of a check that matched one rule, decided in place from its figures:
   * the rule is not in shadow mode; `p` holds the limit and window it was decided with
   * (the rule's own, or an override's, or scaled); `blocked` says a block penalty refused it.
   */
  static lone(lone: readonly [CompiledRule], source: DecisionSource, allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number, p: Params, blocked = false): Decision {
    return new Decision(lone, source, allowed, 0, remaining, resetMs, allowed ? 0 : retryAfterMs, p, blocked);
  }

  /** allow, or the binding rule's action (reject or drop) when refused. */
  get action(): Action {
    if (this.allowed) return 'allow';
    return this.closedByStore ? 'reject' : this.compiled[this.binding].action;
  }

  /** The binding rule's name; undefined when no rule matched. */
  get rule(): string | undefined {
    return this.binding < 0 ? undefined : this.compiled[this.binding].name;
  }

  /** 200 when admitted; otherwise the binding rule's status (503 when its store failed closed). */
  get status(): number {
    if (this.allowed) return 200;
    return this.closedByStore ? 503 : this.compiled[this.binding].response.status;
  }

  /** The binding rule's message when refused. */
  get message(): string | undefined {
    if (this.allowed) return undefined;
    return this.closedByStore ? this.source.failure!.message : this.compiled[this.binding].response.message;
  }

  /** The binding rule's code when refused. */
  get code(): string | undefined {
    if (this.allowed) return undefined;
    return this.closedByStore ? 'store_unavailable' : this.compiled[this.binding].response.code;
  }

  /** The binding rule's limit (after overrides and scaling); Infinity when no rule binds. */
  get limit(): number {
    if (this.binding < 0) return Infinity;
    const results = this.source.results;
    return results === undefined ? this.loneParams!.limit : results[this.binding].limit;
  }

  /** Units the binding rule has left; Infinity when no rule binds. */
  get remaining(): number {
    return this.binding < 0 ? Infinity : this.bindingRemaining;
  }

  /** Milliseconds until the binding rule's whole limit is available again. */
  get resetMs(): number {
    return this.bindingResetMs;
  }

  /** When refused, milliseconds until the same request would fit; 0 when admitted. */
  get retryAfterMs(): number {
    return this.allowed ? 0 : this.bindingRetryAfterMs;
  }

  /** Set when the store failed (or its breaker was open) and the rules were decided without it. */
  get storeFailure(): StoreFailure | undefined {
    return this.source.failure;
  }

  /** Refused because the binding rule's store failed and the rule fails closed. */
  private get closedByStore(): boolean {
    return this.source.failure?.handling[this.binding] === 'closed';
  }

  /** Per matching rule, its result (the store's figures, without the rule's name: `rules` has both). */
  get results(): readonly OpResult[] {
    return this.resultList();
  }

  /** Per matching rule, its result. */
  private resultList(): readonly OpResult[] {
    const results = this.source.results;
    if (results !== undefined) return results;
    const { limit, windowMs } = this.loneParams!;
    return [{ allowed: this.allowed, blocked: this.loneBlocked, limit, windowMs, remaining: this.bindingRemaining, resetMs: this.bindingResetMs, retryAfterMs: this.bindingRetryAfterMs }];
  }

  /** How each matching rule saw the request. */
  get rules(): RuleResult[] {
    const results = this.resultList();
    const handling = this.source.failure?.handling;
    return this.compiled.map((c, i) => {
      const r = results[i];
      const out: RuleResult = { name: c.name, allowed: r.allowed, shadow: c.shadow, blocked: r.blocked, limit: r.limit, windowMs: r.windowMs, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs };
      if (handling?.[i] === 'open') out.fallback = true;
      return out;
    });
  }

  /** Rules the check did not apply, and why; undefined when every rule of the policy was either applied or not about this subject's attributes. */
  get skipped(): readonly SkippedRule[] | undefined {
    return this.skippedFrom?.();
  }

  /** Rules in shadow mode that would have refused. */
  get shadowDenied(): string[] {
    const out: string[] = [];
    const results = this.source.results; // a lone rule decided in place is never in shadow mode
    if (results !== undefined) for (let i = 0; i < this.compiled.length; i++) if (this.compiled[i].shadow && !results[i].allowed) out.push(this.compiled[i].name);
    return out;
  }

  /** RateLimit-Policy and RateLimit, Retry-After when refused, and X-RateLimit-* when the policy asks. */
  get headers(): Record<string, string> {
    return rateLimitHeaders(this, this.compiled, this.resultList(), this.source.legacyHeaders);
  }

  toJSON(): Record<string, unknown> {
    const shadowDenied = this.shadowDenied;
    const skipped = this.skipped;
    return {
      allowed: this.allowed,
      action: this.action,
      rule: this.rule,
      status: this.status,
      message: this.message,
      code: this.code,
      limit: Number.isFinite(this.limit) ? this.limit : null,
      remaining: Number.isFinite(this.remaining) ? this.remaining : null,
      resetMs: this.resetMs,
      retryAfterMs: this.retryAfterMs,
      rules: this.rules,
      ...(shadowDenied.length ? { shadowDenied } : {}),
      ...(skipped ? { skipped } : {}),
    };
  }
}
