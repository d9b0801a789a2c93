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
 * rule closest to its limit. `headers` are built on first read.
 */
export class Decision {
  readonly allowed: boolean;
  readonly action: Action;
  readonly rule?: string;
  readonly status: number;
  readonly message?: string;
  readonly code?: string;
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
  private readonly compiled: readonly CompiledRule[];
  private readonly results: readonly OpResult[];
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
    if (binding < 0) {
      this.action = 'allow';
      this.status = 200;
      this.limit = Infinity;
      this.remaining = Infinity;
      this.resetMs = 0;
      this.retryAfterMs = 0;
      return;
    }
    const b = results[binding];
    const rule = compiled[binding];
    this.rule = rule.name;
    this.limit = b.limit;
    this.remaining = b.remaining;
    this.resetMs = b.resetMs;
    this.retryAfterMs = allowed ? 0 : b.retryAfterMs;
    if (allowed) {
      this.action = 'allow';
      this.status = 200;
    } else if (storeFailure?.handling[binding] === 'closed') {
      this.action = 'reject';
      this.status = 503;
      this.message = storeFailure.message;
      this.code = 'store_unavailable';
    } else {
      this.action = rule.action;
      this.status = rule.response.status;
      this.message = rule.response.message;
      this.code = rule.response.code;
    }
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
