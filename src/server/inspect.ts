import type { Sluice } from '../engine/sluice.js';
import { usageNow } from '../engine/usage-now.js';
import type { Subject } from '../policy/compiled.js';

export interface RuleUsage {
  rule: string;
  key: string;
  algorithm: string;
  /** Effective limit and window (after overrides and attribute scaling). */
  limit: number;
  windowMs: number;
  /** Units counted against the limit now; above it when usage went past it (a byte quota crossed). */
  used: number;
  /** Usage is above the limit: a byte quota crossed by the response that finished over it (seed 003: "contact support to review usage"). */
  over: boolean;
  remaining: number;
  resetMs: number;
  /** Whether one more unit would be admitted now (0 when it would). */
  retryAfterMs: number;
  blocked: boolean;
  blockedForMs?: number;
  shadow: boolean;
  phase: 'request' | 'outcome';
  override?: 'policy' | 'store';
}

/** Current usage of a subject under every rule it matches, without charging anything. */
export async function inspect(sluice: Sluice, subject: Subject): Promise<RuleUsage[]> {
  const peeks = await sluice.peek(subject);
  if (peeks.length === 0) return [];
  const now = sluice.now();
  const [overrides, used] = await Promise.all([sluice.store.listOverrides(), usageNow(sluice, peeks, now)]);
  const storeOverrides = new Set(overrides.filter((o) => o.expiresAt === undefined || o.expiresAt > now).map((o) => o.key));
  return peeks.map(({ rule, key, usage: r, block: b, policyOverride, over }, i) => {
    const blocked = b?.blocked ?? false;
    return {
      rule: rule.name,
      key,
      algorithm: rule.algorithm,
      limit: r.limit,
      windowMs: r.windowMs,
      used: used[i],
      over,
      remaining: blocked ? 0 : r.remaining,
      resetMs: blocked ? Math.max(r.resetMs, b!.resetMs) : r.resetMs,
      retryAfterMs: blocked ? b!.retryAfterMs : r.retryAfterMs,
      blocked,
      ...(blocked ? { blockedForMs: b!.retryAfterMs } : {}),
      shadow: rule.shadow,
      phase: rule.phase,
      ...(storeOverrides.has(key) ? { override: 'store' as const } : policyOverride ? { override: 'policy' as const } : {}),
    };
  });
}
