import type { EnvoyUnit } from './config.js';
import { overrideLimit, type EnvoyRules, type EnvoyRule } from './compile.js';
import type { RateLimitEntry } from './types.js';

/** Distinct request-level limits whose rules are kept (per limiter); past it the oldest is compiled again when next asked for. */
export const OVERRIDE_RULES_KEPT = 1024;

/**
 * The rules of request-level overrides (`--envoy-request-limits`), compiled once per domain and
 * limit asked for (a rule depends on nothing else: its label is "@<requests>/<unit>") instead of
 * once per request. Bounded: a flood of distinct limits (the requests choose them) evicts the
 * oldest first, so memory stays at OVERRIDE_RULES_KEPT rules whatever the traffic, and the
 * common case — the same few overrides over and over — compiles each once.
 */
export class OverrideRules {
  private readonly kept = new Map<string, EnvoyRule>();

  constructor(
    private readonly rules: EnvoyRules,
    private readonly max = OVERRIDE_RULES_KEPT,
  ) {}

  of(domain: string, entries: readonly RateLimitEntry[], requestsPerUnit: number, unit: Exclude<EnvoyUnit, 'UNKNOWN'>): EnvoyRule {
    // The limit carries the descriptor's path (its header name), so it is the request's own; the rule is shared.
    const limit = overrideLimit(entries, requestsPerUnit, unit);
    const id = `${requestsPerUnit}/${unit}/${domain}`;
    let r = this.kept.get(id);
    if (r === undefined) {
      if (this.kept.size >= this.max) this.kept.delete(this.kept.keys().next().value!);
      this.kept.set(id, (r = this.rules.ofOverride(domain, limit)));
    }
    return { limit, rule: r.rule, onStoreError: r.onStoreError };
  }

  /** Rules kept now (at most `max`). */
  get size(): number {
    return this.kept.size;
  }
}
