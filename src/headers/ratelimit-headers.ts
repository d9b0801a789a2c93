/**
 * A leaf: pure rendering that the policy (RateLimit-Policy items), the engine (a decision's
 * headers) and every front door share, so none of them imports a layer above it.
 *
 * Rate-limit response headers:
 *  - RateLimit-Policy and RateLimit per draft-ietf-httpapi-ratelimit-headers-10:
 *    RateLimit-Policy: "per-account";q=60;w=60   RateLimit: "per-account";r=12;t=41
 *  - Retry-After (seconds) when denied;
 *  - the legacy X-RateLimit-Limit / -Remaining / -Reset when the policy asks for them.
 */
/** What the headers are made of: the decision, and each matching rule with its result. */
export interface HeaderSource {
  allowed: boolean;
  retryAfterMs: number;
  limit: number;
  remaining: number;
  resetMs: number;
}

interface RuleView {
  readonly name: string;
  readonly shadow: boolean;
  readonly params: { readonly limit: number; readonly windowMs: number };
  readonly policyItem: string;
  readonly quotaUnit?: string;
}

interface ResultView {
  readonly limit: number;
  readonly windowMs: number;
  readonly remaining: number;
  readonly resetMs: number;
}

export function rateLimitHeaders(d: HeaderSource, rules: readonly RuleView[], results: readonly ResultView[], legacy: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  let policy = '';
  let state = '';
  for (let i = 0; i < rules.length; i++) {
    const c = rules[i];
    if (c.shadow) continue;
    const r = results[i];
    if (!Number.isFinite(r.limit)) continue; // scaled past any number: no quota to advertise
    // The precomputed item holds unless an override or a scale changed the limit.
    const item = r.limit === c.params.limit && r.windowMs === c.params.windowMs ? c.policyItem : policyItem(c.name, r.limit, r.windowMs, c.quotaUnit);
    const now = `"${c.name}";r=${sfInteger(r.remaining)};t=${seconds(r.resetMs)}`;
    policy = policy ? `${policy}, ${item}` : item;
    state = state ? `${state}, ${now}` : now;
  }
  if (policy) {
    headers['RateLimit-Policy'] = policy;
    headers['RateLimit'] = state;
  }
  if (!d.allowed) headers['Retry-After'] = String(Math.max(1, seconds(d.retryAfterMs)));
  if (legacy && Number.isFinite(d.limit)) {
    headers['X-RateLimit-Limit'] = String(d.limit);
    headers['X-RateLimit-Remaining'] = String(Math.max(0, Math.floor(d.remaining)));
    headers['X-RateLimit-Reset'] = String(seconds(d.resetMs));
  }
  return headers;
}

export function policyItem(name: string, limit: number, windowMs: number, quotaUnit?: string): string {
  return `"${name}";q=${sfInteger(limit)};w=${Math.max(1, Math.round(windowMs / 1000))}${quotaUnit ? `;qu="${quotaUnit}"` : ''}`;
}

/** Draft-10's q and r are sf-integers: whole, at most 15 digits (a scaled limit may be 2469135.78, or 6e15). */
function sfInteger(n: number): number {
  return Math.min(999_999_999_999_999, Math.max(0, Math.floor(n)));
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
