import { rateLimitHeaders } from '../http/headers.js';
import type { CompiledRule } from '../policy/compiled.js';
import type { OpResult } from '../stores/store.js';

export type Action = 'allow' | 'reject' | 'drop';

/** The store failed: per rule, whether it was decided by the local stand-in ('open') or refused ('closed'). */
export interface StoreFailure {
  message: string;
  handling: readonly ('open' | 'closed')[];
}

/** How one matching rule saw the request. */
export interface RuleResult extends OpResult {
  name: string;
  shadow: boolean;
  /** Decided by the local stand-in because the store failed. */
  fallback?: boolean;
}

/**
 * The answer to a check or record. `rule`, `status`, `message` and `code` come from
 * the binding rule: the refusing rule that frees up last, or, when admitted, the
 * rule closest to its limit. Everything but `allowed` is read from the binding rule
 * and its result when asked for, and `headers` are built on first read: one Decision
 * is made per check, so it holds as few fields as it can.
 */
export class Decision {
  readonly allowed: boolean;
  private readonly compiled: readonly CompiledRule[];
  private readonly results: readonly OpResult[];
  /** Index of the binding rule in compiled/results; -1 when no (non-shadow) rule matched. */
  private readonly binding: number;
  private readonly failure?: StoreFailure;
  private readonly legacy: boolean;
  private rulesCache?: RuleResult[];
  private shadowCache?: string[];
  private headerCache?: Record<string, string>;

  constructor(compiled: readonly CompiledRule[], results: readonly OpResult[], legacyHeaders: boolean, storeFailure?: StoreFailure) {
    this.compiled = compiled;
    this.results = results;
    this.failure = storeFailure;
    this.legacy = legacyHeaders;
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
    this.allowed = allowed;
    this.binding = binding;
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
    return this.closedByStore ? this.failure!.message : this.compiled[this.binding].response.message;
  }

  /** The binding rule's code when refused. */
  get code(): string | undefined {
    if (this.allowed) return undefined;
    return this.closedByStore ? 'store_unavailable' : this.compiled[this.binding].response.code;
  }

  get limit(): number {
    return this.binding < 0 ? Infinity : this.results[this.binding].limit;
  }

  get remaining(): number {
    return this.binding < 0 ? Infinity : this.results[this.binding].remaining;
  }

  get resetMs(): number {
    return this.binding < 0 ? 0 : this.results[this.binding].resetMs;
  }

  get retryAfterMs(): number {
    return this.allowed ? 0 : this.results[this.binding].retryAfterMs;
  }

  /** Refused because the binding rule's store failed and the rule fails closed. */
  private get closedByStore(): boolean {
    return this.failure?.handling[this.binding] === 'closed';
  }

  /** How each matching rule saw the request (built on first read). */
  get rules(): RuleResult[] {
    if (!this.rulesCache) {
      this.rulesCache = this.compiled.map((c, i) => {
        const r = this.results[i];
        const out: RuleResult = { name: c.name, allowed: r.allowed, shadow: c.shadow, blocked: r.blocked, limit: r.limit, windowMs: r.windowMs, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs };
        if (this.failure?.handling[i] === 'open') out.fallback = true;
        return out;
      });
    }
    return this.rulesCache;
  }

  /** Rules in shadow mode that would have refused. */
  get shadowDenied(): string[] {
    return (this.shadowCache ??= this.compiled.filter((c, i) => c.shadow && !this.results[i].allowed).map((c) => c.name));
  }

  get headers(): Record<string, string> {
    return (this.headerCache ??= rateLimitHeaders(this, this.compiled, this.results, this.legacy));
  }

  toJSON(): Record<string, unknown> {
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
      ...(this.shadowDenied.length ? { shadowDenied: this.shadowDenied } : {}),
    };
  }
}
