import type { Decision } from '../engine/decision.js';
import { rateLimitHeaders, type HeaderSource } from '../http/headers.js';
import type { CompiledPolicy } from '../policy/compiled.js';

/**
 * The decision's rate-limit headers, formatted by the same rateLimitHeaders as
 * Decision.headers but fed plain object literals: Decision.headers spreads every
 * rule result into a new object, which costs several microseconds per request on
 * the hot path. Only valid while `policy` is the policy the decision was made under
 * (the synchronous path); any rule it cannot find falls back to Decision.headers.
 */
export function headersOf(d: Decision, policy: CompiledPolicy): Record<string, string> {
  const results = d.rules;
  const rules: HeaderSource['rules'][number][] = new Array(results.length);
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const c = policy.ruleByName.get(r.name);
    if (c === undefined) return d.headers;
    rules[i] = {
      name: r.name,
      shadow: r.shadow,
      limit: r.limit,
      windowMs: r.windowMs,
      remaining: r.remaining,
      resetMs: r.resetMs,
      policyItem: c.policyItem,
      ruleLimit: c.params.limit,
      ruleWindowMs: c.params.windowMs,
      quotaUnit: c.quotaUnit,
    };
  }
  return rateLimitHeaders({ allowed: d.allowed, retryAfterMs: d.retryAfterMs, limit: d.limit, remaining: d.remaining, resetMs: d.resetMs, rules }, policy.legacyHeaders);
}
