/**
 * Rate-limit response headers:
 *  - RateLimit-Policy and RateLimit per draft-ietf-httpapi-ratelimit-headers-10:
 *    RateLimit-Policy: "per-account";q=60;w=60   RateLimit: "per-account";r=12;t=41
 *  - Retry-After (seconds) when denied;
 *  - the legacy X-RateLimit-Limit / -Remaining / -Reset when the policy asks for them.
 */
export interface HeaderSource {
  allowed: boolean;
  retryAfterMs: number;
  limit: number;
  remaining: number;
  resetMs: number;
  rules: readonly { name: string; shadow: boolean; limit: number; windowMs: number; remaining: number; resetMs: number; policyItem: string; ruleLimit: number; ruleWindowMs: number; quotaUnit?: string }[];
}

export function rateLimitHeaders(d: HeaderSource, legacy: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const policy: string[] = [];
  const state: string[] = [];
  for (const r of d.rules) {
    if (r.shadow) continue;
    policy.push(r.limit === r.ruleLimit && r.windowMs === r.ruleWindowMs ? r.policyItem : policyItem(r.name, r.limit, r.windowMs, r.quotaUnit));
    state.push(`"${r.name}";r=${Math.max(0, Math.floor(r.remaining))};t=${seconds(r.resetMs)}`);
  }
  if (policy.length) {
    headers['RateLimit-Policy'] = policy.join(', ');
    headers['RateLimit'] = state.join(', ');
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
  return `"${name}";q=${limit};w=${Math.max(1, Math.round(windowMs / 1000))}${quotaUnit ? `;qu="${quotaUnit}"` : ''}`;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
