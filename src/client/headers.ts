import { parseDictionary, parseList, sfName, sfNumber, type SfItem } from './structured-fields.js';

/**
 * What a response told us about the server's limits, normalized across header dialects.
 * All durations are milliseconds relative to the `nowMs` passed to the parser, so callers
 * never deal with epochs vs deltas.
 */
export interface RateLimitInfo {
  /** Policy name, when the server names it (IETF draft-10 `RateLimit` / `RateLimit-Policy`). */
  policy?: string;
  /** Quota per window. */
  limit?: number;
  /** Requests left in the current window. */
  remaining?: number;
  /** Time until the window resets (remaining goes back to limit). */
  resetMs?: number;
  /** Window length. */
  windowMs?: number;
  /** From `Retry-After`. */
  retryAfterMs?: number;
}

/** Anything with a case-insensitive `get`, e.g. a fetch `Headers`. */
export interface HeaderGetter {
  get(name: string): string | null;
}

/** Values above this are taken as a Unix timestamp in seconds rather than a delta (2001-09-09). */
const EPOCH_SECONDS_THRESHOLD = 1e9;
/** Values above this can only be a Unix timestamp in milliseconds (a seconds epoch this big is year 33658). */
const EPOCH_MS_THRESHOLD = 1e12;

/**
 * Parses every supported header form. Precedence: the current IETF draft (`RateLimit` +
 * `RateLimit-Policy`), then the older combined dictionary form, then the split
 * `RateLimit-Limit/Remaining/Reset` fields, then legacy `X-RateLimit-*`. Only the first
 * dialect that yields anything is used: mixing dialects from one response risks combining
 * numbers that describe different policies.
 */
export function parseRateLimitHeaders(headers: HeaderGetter, nowMs: number = Date.now()): RateLimitInfo {
  const info: RateLimitInfo =
    parseDraft10(headers) ??
    parseCombinedDictionary(headers, nowMs) ??
    parseSplitFields(headers, 'ratelimit-', nowMs) ??
    parseSplitFields(headers, 'x-ratelimit-', nowMs) ??
    {};
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), nowMs);
  if (retryAfterMs !== undefined) info.retryAfterMs = retryAfterMs;
  return info;
}

/** `Retry-After`: delta seconds or an HTTP-date. Returns ms from `nowMs` (never negative). */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  // Only try dates for values that look like one, so junk like "-5" is ignored rather than misparsed.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * A reset value from the older forms: delta seconds, or an epoch timestamp when large
 * (GitHub and others send epoch seconds in `X-RateLimit-Reset`).
 */
export function parseResetValue(value: number, nowMs: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value > EPOCH_MS_THRESHOLD) return Math.max(0, value - nowMs);
  if (value > EPOCH_SECONDS_THRESHOLD) return Math.max(0, value * 1000 - nowMs);
  return value * 1000;
}

interface PolicyDef {
  name?: string;
  quota?: number;
  windowMs?: number;
  requestUnits: boolean;
}

function policyFromItem(item: SfItem): PolicyDef {
  const name = sfName(item.value);
  // Draft-10 uses q=; drafts 03-07 put the quota as the item's bare integer value.
  const quota = sfNumber(item.params, 'q') ?? (typeof item.value === 'number' ? item.value : undefined);
  const w = sfNumber(item.params, 'w');
  const unit = item.params.get('qu');
  return {
    name,
    quota,
    windowMs: w !== undefined ? w * 1000 : undefined,
    // Byte or concurrency quotas cannot be paced as request counts, so they do not drive pacing.
    requestUnits: unit === undefined || sfName(unit as SfItem['value']) === 'requests',
  };
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10:
 *   RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400
 *   RateLimit: "burst";r=50;t=30
 * Unknown params (qu, pk, future ones) are ignored.
 */
function parseDraft10(headers: HeaderGetter): RateLimitInfo | undefined {
  const policyItems = parseList(headers.get('ratelimit-policy')) ?? [];
  const policies = policyItems.map(policyFromItem);
  const rlItems = parseList(headers.get('ratelimit'));
  // Names must match; only an unnamed side (older drafts) may pair with a lone policy.
  const findPolicy = (name: string | undefined): PolicyDef | undefined =>
    policies.find((p) => p.name !== undefined && p.name === name) ??
    (policies.length === 1 && (name === undefined || policies[0].name === undefined) ? policies[0] : undefined);

  if (rlItems && rlItems.length > 0) {
    const candidates: RateLimitInfo[] = [];
    for (const item of rlItems) {
      const name = sfName(item.value);
      const r = sfNumber(item.params, 'r');
      const t = sfNumber(item.params, 't');
      if (r === undefined && t === undefined) continue;
      const policy = findPolicy(name);
      if (policy && !policy.requestUnits) continue;
      candidates.push(
        compact({
          policy: name ?? policy?.name,
          limit: policy?.quota,
          windowMs: policy?.windowMs,
          remaining: r,
          resetMs: t !== undefined ? t * 1000 : undefined,
        }),
      );
    }
    const chosen = mostRestrictive(candidates);
    if (chosen) return chosen;
  }
  // Policy without current state still tells us the quota and window.
  const usable = policies.filter((p) => p.requestUnits && p.quota !== undefined);
  if (usable.length === 0) return undefined;
  const tightest = usable.reduce((a, b) => (rate(b) < rate(a) ? b : a));
  return compact({ policy: tightest.name, limit: tightest.quota, windowMs: tightest.windowMs });
}

/** Requests per ms a policy allows; unknown windows sort last. */
function rate(p: PolicyDef): number {
  return p.windowMs ? (p.quota ?? Infinity) / p.windowMs : Infinity;
}

/**
 * Among several current limits, the one that leaves the least time per remaining request
 * governs pacing: r=0 beats everything, then the largest reset/remaining ratio.
 */
function mostRestrictive(items: RateLimitInfo[]): RateLimitInfo | undefined {
  let best: RateLimitInfo | undefined;
  let bestScore = -1;
  for (const it of items) {
    const r = it.remaining;
    const t = it.resetMs ?? 0;
    const score = r === undefined ? 0 : r <= 0 ? Infinity : t / r;
    const better = score > bestScore || (score === bestScore && score === Infinity && t > (best?.resetMs ?? 0));
    if (!best || better) {
      best = it;
      bestScore = score;
    }
  }
  return best;
}

/** Drafts 06-07 combined form: `RateLimit: limit=100, remaining=50, reset=30`. */
function parseCombinedDictionary(headers: HeaderGetter, nowMs: number): RateLimitInfo | undefined {
  const raw = headers.get('ratelimit');
  if (raw == null || !/\b(limit|remaining|reset)\s*=/i.test(raw)) return undefined;
  const dict = parseDictionary(raw);
  if (!dict) return undefined;
  const num = (k: string): number | undefined => {
    const v = dict.get(k)?.value;
    return typeof v === 'number' ? v : undefined;
  };
  const reset = num('reset');
  const info = compact({
    limit: num('limit'),
    remaining: num('remaining'),
    resetMs: reset !== undefined ? parseResetValue(reset, nowMs) : undefined,
  });
  return Object.keys(info).length > 0 ? info : undefined;
}

/**
 * `RateLimit-Limit` / `-Remaining` / `-Reset` (IETF drafts 00-05) and the `X-RateLimit-*`
 * convention. The limit may carry policies, e.g. `RateLimit-Limit: 10, 10;w=1, 50;w=60`:
 * the first item is the current limit and a later item with the same quota gives its window.
 */
function parseSplitFields(headers: HeaderGetter, prefix: string, nowMs: number): RateLimitInfo | undefined {
  const limitRaw = headers.get(`${prefix}limit`);
  const remainingRaw = headers.get(`${prefix}remaining`);
  const resetRaw = headers.get(`${prefix}reset`);
  if (limitRaw == null && remainingRaw == null && resetRaw == null) return undefined;

  let limit: number | undefined;
  let windowMs: number | undefined;
  const limitItems = parseList(limitRaw);
  if (limitItems && limitItems.length > 0) {
    const first = policyFromItem(limitItems[0]);
    limit = first.quota;
    windowMs = first.windowMs ?? limitItems.map(policyFromItem).find((p) => p.quota === limit && p.windowMs)?.windowMs;
  } else {
    limit = leadingNumber(limitRaw);
  }
  const remaining = leadingNumber(remainingRaw);
  const reset = leadingNumber(resetRaw);
  const info = compact({
    limit,
    windowMs,
    remaining,
    resetMs: reset !== undefined ? parseResetValue(reset, nowMs) : undefined,
  });
  return Object.keys(info).length > 0 ? info : undefined;
}

/** First number in a header value; tolerates "50, 50" from repeated fields and stray params. */
function leadingNumber(raw: string | null): number | undefined {
  if (raw == null) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)/.exec(raw);
  return m ? Number(m[1]) : undefined;
}

/** Drops undefined fields so results compare cleanly and `in` checks are meaningful. */
function compact(info: RateLimitInfo): RateLimitInfo {
  const out: RateLimitInfo = {};
  for (const [k, v] of Object.entries(info) as [keyof RateLimitInfo, unknown][]) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
