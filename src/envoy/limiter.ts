import { policyItem } from '../headers/ratelimit-headers.js';
import type { CircuitBreaker } from '../engine/breaker.js';
import { Decision, type StoreFailure } from '../engine/decision.js';
import { Sluice } from '../engine/sluice.js';
import type { CompiledRule } from '../policy/compiled.js';
import type { OpResult, Store, TxOp } from '../stores/store.js';
import { describeLimit, UNIT_MS, UNIT_NUMBERS, type EnvoyConfig, type EnvoyLimit, type EnvoyUnit } from './config.js';
import { descriptorOp, EnvoyRules, type EnvoyRule, type EnvoyStoreErrorMode } from './compile.js';
import { OverrideRules } from './override-rules.js';
import { findLimit } from './match.js';
import {
  EnvoyCallEndedError,
  EnvoyRequestError,
  EnvoyStoreError,
  type DescriptorStatus,
  type HeaderValue,
  type RateLimitDescriptor,
  type RateLimitEntry,
  type RateLimitRequest,
  type RateLimitResponse,
} from './types.js';

export type EnvoyClock = (() => number) | { now(): number };

export interface EnvoyRateLimiterOptions {
  /** RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers-10) and Retry-After in response_headers_to_add. Default true. */
  ietfHeaders?: boolean;
  /** x-ratelimit-limit / -remaining / -reset of the descriptor closest to its limit, as envoyproxy/ratelimit adds them when enabled. Default true. */
  xRateLimitHeaders?: boolean;
  /** envoy's global SHADOW_MODE: count everything, report per-descriptor codes, but answer OK overall. Default false. */
  globalShadowMode?: boolean;
  /**
   * Honour a descriptor's request-level `limit` over the configured one, as envoyproxy/ratelimit
   * does. Default false: whoever can reach /json or gRPC could otherwise choose its own limit
   * (150 of 150 admitted on a 100/day rule); with it off, such a descriptor is decided by the
   * configuration like any other.
   */
  requestLimits?: boolean;
  /**
   * For limits without their own rate_limit.on_store_error, while the store is down: 'open'
   * decides locally (this instance's share), 'closed' refuses (OVER_LIMIT), 'error' (default)
   * answers the failure (gRPC UNAVAILABLE, /json 503), for envoy's failure_mode_deny.
   */
  onStoreError?: EnvoyStoreErrorMode;
  /** Told of every decision and how long it took (ms), as the service's metrics count policy checks. */
  onDecision?: (d: Decision, ms: number) => void;
}

const UINT32_MAX = 4_294_967_295;

/**
 * Sizes one request may have, as /v1/check bounds a subject (src/server/validate.ts): a request
 * past them is refused whole (INVALID_ARGUMENT / 400) before any work, so no request costs more
 * than linear time in a bounded size, and no 4 MB value becomes a key.
 */
export const ENVOY_REQUEST_LIMITS = {
  /** Descriptors in one request (as checks in one /v1/check batch). */
  descriptors: 1000,
  /** Entries in one descriptor (as attributes in one subject). */
  entries: 64,
  /** Characters in a domain, an entry's key or an entry's value (as a subject value). */
  valueLength: 1024,
};

const NO_RESULTS: readonly OpResult[] = [];
/** What a request that reached no limit counts as (rule "none", as a check matching no rule). */
const NO_DECISION = Decision.of([], { legacyHeaders: false, results: [] });

/** Asked right before the store is: false when the call has ended (deadline, cancel) and must not be charged. */
export type CallLiveness = () => 'live' | 'deadline' | 'cancelled';

/** What a request comes to before the engine decides it. */
interface RequestPlan {
  /** One per request descriptor, in order. */
  plans: Plan[];
  ops: TxOp[];
  /** The rule of each op. */
  rules: CompiledRule[];
  answerFailure: boolean;
  /** A requests_per_unit 0 limit refuses the request (the other counters are only peeked at). */
  zeroDenies: boolean;
}

/** What one request descriptor comes to. */
type Plan =
  | { kind: 'none' }
  | { kind: 'unlimited' }
  | { kind: 'limit'; of: EnvoyRule; op: number }
  /** requests_per_unit: 0 — decided here, no state needed. */
  | { kind: 'zero'; of: EnvoyRule; cost: number };
const NONE: Plan = { kind: 'none' };
const UNLIMITED: Plan = { kind: 'unlimited' };

/**
 * Envoy's rate-limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit),
 * deciding through the engine like every other front door: descriptors compile to engine
 * rules in their own namespace (./compile.ts), and each request is one engine decision, with
 * the engine's store transaction, breaker, refused cache, fallback (`on_store_error`) and
 * metrics.
 *
 * Matching follows envoyproxy/ratelimit (see match.ts), and so do unlimited limits,
 * requests_per_unit 0, shadow_mode, replaces, request-level limit overrides and
 * hits_addend. Counting differs on purpose in one way:
 *
 *   envoyproxy/ratelimit increments every descriptor's counter, even when another
 *   descriptor of the same request is over its limit (a refused request still uses
 *   up the quota of the others). Sluice decides all descriptors of a request in ONE
 *   atomic transaction: either every non-shadow descriptor admits the request and all
 *   are charged, or none is charged. Shadow descriptors (and every descriptor under the
 *   global shadow mode) are charged either way, since the request they observe goes
 *   through as far as they are concerned.
 *
 * While the store is down, a limit with `on_store_error: open` is decided by the engine's
 * local fallback (this instance's share of the limit), one with `closed` refuses
 * (OVER_LIMIT), and one without answers the failure (EnvoyStoreError: gRPC UNAVAILABLE,
 * /json 503), so that envoy's failure_mode_deny decides, as with envoyproxy/ratelimit.
 */
export class EnvoyRateLimiter {
  private cfg: EnvoyConfig;
  /** The store the engine decides in (what the gRPC health check pings). */
  readonly store: Store;
  /** The engine: shared with the policy when the service hands in its Sluice. */
  readonly engine: Sluice;
  private readonly clock: () => number;
  private readonly opts: Required<Omit<EnvoyRateLimiterOptions, 'onDecision'>>;
  private readonly onDecision?: (d: Decision, ms: number) => void;
  private readonly rules: EnvoyRules;
  /** Request-level overrides' rules, compiled once each and bounded (./override-rules.ts). */
  readonly overrideRules: OverrideRules;
  /** For metrics. */
  readonly counters = { requests: 0, overLimit: 0, shadowOverLimit: 0, storeErrors: 0 };

  /**
   * `store`: a Store (the limiter opens an engine over it) or the service's Sluice (Envoy
   * then shares its breaker, fallback, refused cache and store counters with the policy).
   */
  constructor(config: EnvoyConfig, store: Store | Sluice, clock?: EnvoyClock, opts: EnvoyRateLimiterOptions = {}) {
    this.cfg = config;
    const own = clock === undefined ? undefined : typeof clock === 'function' ? clock : () => clock.now();
    this.engine = store instanceof Sluice ? store : Sluice.over(store, own ? { clock: own } : {});
    this.store = store instanceof Sluice ? store.store : store;
    const engine = this.engine;
    this.clock = own ?? (() => engine.now());
    this.opts = {
      ietfHeaders: opts.ietfHeaders ?? true,
      xRateLimitHeaders: opts.xRateLimitHeaders ?? true,
      globalShadowMode: opts.globalShadowMode ?? false,
      requestLimits: opts.requestLimits ?? false,
      onStoreError: opts.onStoreError ?? 'error',
    };
    this.onDecision = opts.onDecision;
    this.rules = new EnvoyRules({ globalShadowMode: this.opts.globalShadowMode, onStoreError: this.opts.onStoreError });
    this.overrideRules = new OverrideRules(this.rules);
  }

  /** After consecutive store failures, answers at once instead of waiting on a hung store (the engine's, ../engine/breaker.ts). */
  get breaker(): CircuitBreaker {
    return this.engine.breaker;
  }

  get config(): EnvoyConfig {
    return this.cfg;
  }

  /** Swaps in a new configuration (hot reload); counters of descriptors that keep their entries carry on. */
  setConfig(config: EnvoyConfig): void {
    this.cfg = config;
  }

  now(): number {
    return this.clock();
  }

  /**
   * Decides a RateLimitRequest. Throws EnvoyRequestError for an unusable request,
   * EnvoyCallEndedError for a call that ended first, and EnvoyStoreError when the store
   * fails and a limit of the request has no on_store_error to fall back on.
   */
  async shouldRateLimit(request: RateLimitRequest, live?: CallLiveness): Promise<RateLimitResponse> {
    const started = this.onDecision === undefined ? 0 : performance.now();
    const plan = this.plan(request);
    // A call that ended while it was planned is not charged (nor are its counters touched).
    const state = live?.() ?? 'live';
    if (state !== 'live') throw new EnvoyCallEndedError(state);
    const decision = plan.ops.length ? await this.engine.decideOutside(plan.rules, plan.ops) : undefined;
    return this.answer(plan, decision, started);
  }

  /**
   * shouldRateLimit without the promise, for an engine over a synchronous store (memory;
   * SQLite, whose group commit the caller flushes before answering, as the service's write
   * batch does): the same answers and errors, synchronously (test/envoy/limiter-sync).
   */
  shouldRateLimitSync(request: RateLimitRequest): RateLimitResponse {
    const started = this.onDecision === undefined ? 0 : performance.now();
    const plan = this.plan(request);
    const decision = plan.ops.length ? this.engine.decideOutsideSync(plan.rules, plan.ops) : undefined;
    return this.answer(plan, decision, started);
  }

  /** Steps 1-3 of a decision: the limit of each descriptor, replaces, and the engine's ops. */
  private plan(request: RateLimitRequest): RequestPlan {
    const req = normalizeRequest(request);
    this.counters.requests++;
    const domain = this.cfg.domains.get(req.domain);
    const overrides = this.opts.requestLimits;
    const descriptors = req.descriptors;
    const n = descriptors.length;

    // 1. the limit of each descriptor (a request-level override wins over the file)
    const limits: (EnvoyRule | undefined)[] = new Array(n);
    let replacing = false;
    for (let i = 0; i < n; i++) {
      const d = descriptors[i];
      let rule: EnvoyRule | undefined;
      if (!domain) rule = undefined; // unknown domain: no limits, as envoy
      else if (d.override && overrides) rule = this.overrideRules.of(req.domain, d.entries, d.override.requestsPerUnit, d.override.unit);
      else {
        const limit = findLimit(domain, d.entries);
        rule = limit && this.rules.of(req.domain, limit);
      }
      limits[i] = rule;
      if (rule && rule.limit.replaces.length) replacing = true;
    }

    // 2. replaces: a matched limit naming others takes them out of this request
    let replaced: Set<string> | undefined;
    if (replacing) {
      replaced = new Set<string>();
      for (const l of limits) if (l) for (const r of l.limit.replaces) replaced.add(r);
    }

    // 3. plan: which descriptors become the engine's ops (one rule per op)
    const ops: TxOp[] = [];
    const rules: CompiledRule[] = [];
    /** Whether a limit asked about has no on_store_error to fall back on (a store failure is then answered). */
    let answerFailure = false;
    // Most requests have one descriptor: the map that merges repeated counters is made for two or more.
    const opByKey = n > 1 ? new Map<string, number>() : undefined;
    const plans: Plan[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const d = descriptors[i];
      const of = limits[i];
      if (!of || (replaced !== undefined && of.limit.name !== undefined && replaced.has(of.limit.name))) {
        plans[i] = NONE;
        continue;
      }
      const limit = of.limit;
      if (limit.unlimited) {
        plans[i] = UNLIMITED;
        continue;
      }
      const cost = d.hits ?? req.hits;
      if (limit.requestsPerUnit === 0) {
        plans[i] = { kind: 'zero', of, cost };
        continue;
      }
      const op = descriptorOp(req.domain, d.entries, limit, cost, d.override !== undefined && overrides, this.opts.globalShadowMode);
      const same = opByKey?.get(op.key);
      if (same !== undefined) {
        // The same counter twice in one request: one op carrying both costs.
        ops[same].cost += cost;
        if (cost > 0) ops[same].mode = 'take';
        plans[i] = { kind: 'limit', of, op: same };
        continue;
      }
      opByKey?.set(op.key, ops.length);
      rules.push(of.rule);
      if (of.onStoreError === 'error') answerFailure = true;
      plans[i] = { kind: 'limit', of, op: ops.push(op) - 1 };
    }

    // requests_per_unit 0 refuses the request before the store is asked; keep it
    // all-or-nothing by only peeking at the other (non-shadow) counters.
    const zeroDenies = plans.some((p) => p.kind === 'zero' && p.cost > 0 && !p.of.limit.shadow);
    if (zeroDenies && !this.opts.globalShadowMode) for (const op of ops) if (!op.chargeRejected) op.mode = 'peek';
    return { plans, ops, rules, answerFailure, zeroDenies };
  }

  /** Steps 5-6 of a decision, once the engine decided (4): statuses one per descriptor, headers, counters. */
  private answer(plan: RequestPlan, decision: Decision | undefined, started: number): RateLimitResponse {
    const { plans, ops, zeroDenies } = plan;
    const results = decision ? decision.results : NO_RESULTS;
    const failure = decision?.storeFailure;
    if (failure) this.storeFailed(failure, plan.answerFailure);
    const now = this.clock();
    let admitted = !zeroDenies;
    for (let i = 0; admitted && i < results.length; i++) admitted = results[i].allowed || ops[i].shadow;

    // 5. statuses, one per descriptor in order
    let overall = 'OK' as 'OK' | 'OVER_LIMIT';
    const shown: ShownLimit[] = [];
    const statuses: DescriptorStatus[] = new Array(plans.length);
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i];
      if (p.kind === 'none') {
        statuses[i] = { code: 'OK', limit_remaining: 0 };
        continue;
      }
      if (p.kind === 'unlimited') {
        statuses[i] = { code: 'OK', limit_remaining: UINT32_MAX };
        continue;
      }
      const l = p.of.limit;
      let allowed: boolean;
      let remaining: number;
      let resetMs: number;
      if (p.kind === 'zero') {
        allowed = p.cost === 0;
        remaining = 0;
        resetMs = l.windowMs - (now % l.windowMs);
      } else {
        const r = results[p.op];
        const op = ops[p.op];
        allowed = r.allowed;
        remaining = r.remaining;
        // Admitted by its own counter but not charged because another descriptor refused.
        if (allowed && !admitted && op.mode === 'take' && !op.chargeRejected) remaining = Math.min(r.limit, remaining + op.cost);
        resetMs = allowed ? r.resetMs : r.retryAfterMs > 0 ? r.retryAfterMs : r.resetMs;
      }
      if (!allowed) {
        if (l.shadow) this.counters.shadowOverLimit++;
        else overall = 'OVER_LIMIT';
      }
      const name = limitName(l);
      const status: DescriptorStatus = {
        code: allowed || l.shadow ? 'OK' : 'OVER_LIMIT',
        current_limit: name ? { requests_per_unit: l.requestsPerUnit, unit: l.unit, name } : { requests_per_unit: l.requestsPerUnit, unit: l.unit },
        limit_remaining: allowed ? Math.min(UINT32_MAX, Math.max(0, Math.floor(remaining))) : 0,
        duration_until_reset: duration(resetMs),
      };
      if (!l.shadow) shown.push({ limit: l, status, resetMs, over: !allowed });
      statuses[i] = status;
    }

    if (overall === 'OVER_LIMIT') this.counters.overLimit++;
    if (this.onDecision) this.onDecision(this.countedDecision(decision, plans, statuses), performance.now() - started);
    if (this.opts.globalShadowMode) overall = 'OK';
    return {
      overall_code: overall,
      statuses,
      response_headers_to_add: this.headers(shown),
      request_headers_to_add: [],
    };
  }

  /** The store failed: counted, and answered as a failure when a limit it was asked about has no on_store_error to fall back on. */
  private storeFailed(failure: StoreFailure, answerFailure: boolean): void {
    if (!failure.shortCircuited) this.counters.storeErrors++;
    if (!answerFailure) return;
    const e = failure.error;
    const why = failure.shortCircuited ? 'circuit open after repeated failures' : ((e as Error)?.message ?? String(e));
    throw new EnvoyStoreError(`rate-limit store unavailable (${this.store.name}): ${why}`, e);
  }

  /**
   * The decision the metrics count (sluice_decisions_total, rule "envoy:<domain>:<limit>"):
   * the engine's, unless a requests_per_unit 0 limit took part (decided here, without the
   * engine), in which case it is made over every limited descriptor's status.
   */
  private countedDecision(decision: Decision | undefined, plans: readonly Plan[], statuses: readonly DescriptorStatus[]): Decision {
    if (!plans.some((p) => p.kind === 'zero')) return decision ?? NO_DECISION;
    const rules: CompiledRule[] = [];
    const results: OpResult[] = [];
    plans.forEach((p, i) => {
      if (p.kind !== 'zero' && p.kind !== 'limit') return;
      const s = statuses[i];
      const ms = s.duration_until_reset!.seconds * 1000 + s.duration_until_reset!.nanos / 1e6;
      const allowed = s.code === 'OK';
      rules.push(p.of.rule);
      results.push({ allowed, blocked: false, limit: p.of.limit.requestsPerUnit, windowMs: p.of.limit.windowMs, remaining: s.limit_remaining, resetMs: ms, retryAfterMs: allowed ? 0 : ms });
    });
    return Decision.of(rules, { legacyHeaders: false, results });
  }

  private headers(shown: ShownLimit[]): HeaderValue[] {
    const out: HeaderValue[] = [];
    if (shown.length === 0) return out;
    if (this.opts.ietfHeaders) {
      if (shown.length === 1) ietfHeadersOfOne(shown[0], out);
      else ietfHeaders(shown, out);
    }
    if (this.opts.xRateLimitHeaders) {
      // As envoyproxy/ratelimit: the descriptor closest to its limit; one over the limit wins.
      let min = shown[0];
      for (const s of shown) {
        if (s.over && !min.over) min = s;
        else if (s.over === min.over && s.status.limit_remaining < min.status.limit_remaining) min = s;
      }
      out.push(
        { key: 'x-ratelimit-limit', value: String(min.limit.requestsPerUnit) },
        { key: 'x-ratelimit-remaining', value: String(min.status.limit_remaining) },
        { key: 'x-ratelimit-reset', value: String(seconds(min.resetMs)) },
      );
    }
    return out;
  }
}

/** RateLimit-Policy, RateLimit and (when over) Retry-After of the limits shown, each under a unique name. */
export function ietfHeaders(shown: readonly ShownLimit[], out: HeaderValue[]): void {
  const unique = uniqueNames();
  const policy: string[] = [];
  const state: string[] = [];
  for (const s of shown) {
    const name = unique(sfName(s.limit.name ?? s.limit.path));
    policy.push(policyItem(name, s.limit.requestsPerUnit, s.limit.windowMs));
    state.push(`"${name}";r=${s.status.limit_remaining};t=${seconds(s.resetMs)}`);
  }
  out.push({ key: 'ratelimit-policy', value: policy.join(', ') }, { key: 'ratelimit', value: state.join(', ') });
  let retry = 0;
  for (const s of shown) if (s.over) retry = Math.max(retry, 1, seconds(s.resetMs));
  if (retry > 0) out.push({ key: 'retry-after', value: String(retry) });
}

/**
 * ietfHeaders of one limit (the usual request), the same headers (test/envoy/ietf-headers):
 * its name is unique as it is, and its policy item is made once per limit.
 */
export function ietfHeadersOfOne(s: ShownLimit, out: HeaderValue[]): void {
  const item = shownItem(s.limit);
  out.push({ key: 'ratelimit-policy', value: item.policy }, { key: 'ratelimit', value: `"${item.name}";r=${s.status.limit_remaining};t=${seconds(s.resetMs)}` });
  if (s.over) out.push({ key: 'retry-after', value: String(Math.max(1, seconds(s.resetMs))) });
}

export interface ShownLimit {
  limit: EnvoyLimit;
  status: DescriptorStatus;
  resetMs: number;
  over: boolean;
}

/** A limit's structured-field name and its RateLimit-Policy item, made once per limit (configs are immutable; a reload brings new limits). */
function shownItem(l: EnvoyLimit): { name: string; policy: string } {
  let item = shownItems.get(l);
  if (item === undefined) {
    const name = sfName(l.name ?? l.path);
    shownItems.set(l, (item = { name, policy: policyItem(name, l.requestsPerUnit, l.windowMs) }));
  }
  return item;
}
const shownItems = new WeakMap<EnvoyLimit, { name: string; policy: string }>();

function limitName(l: EnvoyLimit): string | undefined {
  if (l.name) return l.name;
  return l.unit === 'UNKNOWN' ? describeLimit(l) : undefined;
}

function duration(ms: number): { seconds: number; nanos: number } {
  const m = Math.max(0, Math.ceil(ms));
  return { seconds: Math.floor(m / 1000), nanos: (m % 1000) * 1_000_000 };
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

function sfName(s: string): string {
  return s.replace(/["\\]/g, '_');
}

/**
 * Hands out header item names, each unique: a name seen before gets the next free "#2", "#3"….
 * Per name, the suffix to try next is remembered, so n descriptors of one name cost linear time,
 * not quadratic (a 10,000-descriptor request once took seconds here). `taken`: the names handed
 * out (tests count its lookups).
 */
export function uniqueNames(taken: Set<string> = new Set()): (name: string) => string {
  const next = new Map<string, number>();
  return (name) => {
    let n = name;
    if (taken.has(n)) {
      let i = next.get(name) ?? 2;
      for (n = `${name}#${i}`; taken.has(n); n = `${name}#${++i}`);
      next.set(name, i + 1);
    }
    taken.add(n);
    return n;
  };
}

// ---- request validation ----

interface NormalizedRequest {
  domain: string;
  hits: number;
  descriptors: { entries: RateLimitEntry[]; hits?: number; override?: { requestsPerUnit: number; unit: Exclude<EnvoyUnit, 'UNKNOWN'> } }[];
}

/** Checks a request as the proto and envoyproxy/ratelimit require, with a clear message for each problem. */
export function normalizeRequest(request: RateLimitRequest): NormalizedRequest {
  if (request === null || typeof request !== 'object') throw new EnvoyRequestError('the request is a RateLimitRequest object');
  const { domain, descriptors } = request;
  const max = ENVOY_REQUEST_LIMITS;
  if (typeof domain !== 'string' || domain === '') throw new EnvoyRequestError('rate limit domain must not be empty');
  if (domain.length > max.valueLength) throw new EnvoyRequestError(`the domain is ${domain.length} characters; at most ${max.valueLength}`);
  if (!Array.isArray(descriptors) || descriptors.length === 0) throw new EnvoyRequestError('rate limit descriptor list must not be empty');
  if (descriptors.length > max.descriptors) throw new EnvoyRequestError(`the request has ${descriptors.length} descriptors; at most ${max.descriptors}`);
  const requestHits = uint(request.hits_addend, 'hits_addend', UINT32_MAX) ?? 0;
  return {
    domain,
    // proto3 cannot tell an explicit 0 from unset: both mean 1, as in envoy.
    hits: requestHits === 0 ? 1 : requestHits,
    descriptors: normalizeDescriptors(descriptors),
  };
}

function normalizeDescriptors(descriptors: readonly RateLimitDescriptor[]): NormalizedRequest['descriptors'] {
  const max = ENVOY_REQUEST_LIMITS;
  const out: NormalizedRequest['descriptors'] = new Array(descriptors.length);
  for (let i = 0; i < descriptors.length; i++) {
    const d = descriptors[i];
    const at = `descriptors[${i}]`;
    if (d === null || typeof d !== 'object') throw new EnvoyRequestError(`${at} is an object with entries`);
    if (!Array.isArray(d.entries) || d.entries.length === 0) throw new EnvoyRequestError(`${at}.entries must not be empty`);
    if (d.entries.length > max.entries) throw new EnvoyRequestError(`${at} has ${d.entries.length} entries; at most ${max.entries}`);
    const entries: RateLimitEntry[] = new Array(d.entries.length);
    for (let j = 0; j < d.entries.length; j++) {
      const e = d.entries[j];
      if (e === null || typeof e !== 'object' || typeof e.key !== 'string' || e.key === '') throw new EnvoyRequestError(`${at}.entries[${j}].key must be a non-empty string`);
      if (e.value !== undefined && e.value !== null && typeof e.value !== 'string') throw new EnvoyRequestError(`${at}.entries[${j}].value must be a string`);
      if (e.key.length > max.valueLength) throw new EnvoyRequestError(`${at}.entries[${j}].key is ${e.key.length} characters; at most ${max.valueLength}`);
      if (e.value && e.value.length > max.valueLength) throw new EnvoyRequestError(`${at}.entries[${j}].value is ${e.value.length} characters; at most ${max.valueLength}`);
      entries[j] = { key: e.key, value: e.value ?? '' };
    }
    const raw = d.hits_addend;
    const hits = raw === null || raw === undefined ? undefined : uint(typeof raw === 'object' ? raw.value ?? 0 : raw, `${at}.hits_addend`, Number.MAX_SAFE_INTEGER);
    const n: NormalizedRequest['descriptors'][number] = { entries };
    if (hits !== undefined) n.hits = hits;
    if (d.limit !== null && d.limit !== undefined) {
      if (typeof d.limit !== 'object') throw new EnvoyRequestError(`${at}.limit is { requests_per_unit, unit }`);
      const rpu = uint(d.limit.requests_per_unit, `${at}.limit.requests_per_unit`, UINT32_MAX) ?? 0;
      const u = d.limit.unit;
      const unit = typeof u === 'number' ? UNIT_NUMBERS[u] : typeof u === 'string' ? (u.toUpperCase() as EnvoyUnit) : undefined;
      if (unit === undefined || unit === 'UNKNOWN' || !(unit in UNIT_MS)) {
        throw new EnvoyRequestError(`${at}.limit.unit must be SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR (got ${JSON.stringify(u ?? null)})`);
      }
      n.override = { requestsPerUnit: rpu, unit: unit as Exclude<EnvoyUnit, 'UNKNOWN'> };
    }
    out[i] = n;
  }
  return out;
}

function uint(v: unknown, field: string, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw new EnvoyRequestError(`${field} must be a whole number from 0 to ${max}`);
  return n;
}
