import { algorithms, type AlgorithmName, type Params } from '../algorithms/index.js';
import { bucketWidth } from '../algorithms/rolling-quota.js';
import { EXACT_LOG_MAX } from '../policy/compile.js';
import type { CompiledPolicy, CompiledRule } from '../policy/compiled.js';

type Counting = Exclude<AlgorithmName, 'block'>;

/** A rule that keeps its name and key across a reload but changes how (or how much) it counts. */
export interface RuleChange {
  rule: string;
  from: { algorithm: Counting; params: Params };
  to: { algorithm: Counting; params: Params };
  /** What an operator reads in the reload log. */
  message: string;
}

/** The rules whose states must be carried over from `before` to `after`. */
export function ruleChanges(before: CompiledPolicy, after: CompiledPolicy): RuleChange[] {
  const old = new Map(before.rules.map((r) => [r.name, r]));
  const out: RuleChange[] = [];
  for (const r of after.rules) {
    const o = old.get(r.name);
    if (!o || !sameKey(o, r) || (o.algorithm === r.algorithm && sameParams(o.params, r.params))) continue;
    out.push({ rule: r.name, from: { algorithm: o.algorithm, params: o.params }, to: { algorithm: r.algorithm, params: r.params }, message: describe(o, r) });
  }
  return out;
}

/**
 * The parameters one key's state is read with (`from`: the key's limit under the old policy)
 * and written with (`to`: under the new one): its override or scaled limit (./carry-params.ts),
 * the rule's own by default.
 */
export interface CarrySides {
  from: Params;
  to: Params;
}

/**
 * One state of a changed rule, carried over conservatively: whatever the old algorithm counted
 * as used at `now` is what the new one counts as used (a log's live units become a counter's
 * count, a GCRA's outstanding units set its TAT), charged at `now` so it holds a full window
 * from now — never a fresh budget, at worst a little stricter than the truth. States that do
 * not depend on the changed parameter are kept as they are (a log or a quota whose limit
 * changed). Returns the new state (null: nothing used) and when it may be forgotten.
 */
export function carryState(change: RuleChange, state: readonly number[], now: number, params: CarrySides = { from: change.from.params, to: change.to.params }): { state: number[] | null; expiresAt: number } {
  const from = change.from.algorithm;
  const to = change.to.algorithm;
  const next = keeps(change, params) ? [...state] : fromUsed(to, params.to, usedOf(from, params.from, state, now), now, from === 'concurrency' ? state : undefined);
  if (next === null || next.length === 0 || next.some((x) => !Number.isFinite(x))) return { state: null, expiresAt: 0 };
  return { state: next, expiresAt: algorithms[to].expiresAt(next, params.to) };
}

/** Units the state holds against its limit at `now`, under the algorithm that wrote it. */
export function usedOf(algorithm: Counting, p: Params, state: readonly number[], now: number): number {
  const w = p.windowMs;
  let used = 0;
  switch (algorithm) {
    case 'sliding-log':
      for (let i = 0; i + 1 < state.length; i += 2) if (Math.min(state[i], now) + w > now) used += state[i + 1];
      break;
    case 'rolling-quota': {
      const width = bucketWidth(p);
      for (let i = 0; i + 1 < state.length; i += 2) if (Math.min(state[i], now) + width + w > now) used += state[i + 1];
      break;
    }
    case 'fixed-window':
      used = state[0] >= Math.floor(now / w) * w ? state[1] : 0;
      break;
    case 'sliding-window': {
      const start = Math.floor(now / w) * w;
      const overlap = 1 - (now - start) / w;
      if (state[0] >= start) used = state[1] * overlap + state[2];
      else if (state[0] === start - w) used = state[2] * overlap;
      break;
    }
    case 'gcra':
      used = Math.max(0, state[0] - now) / (w / p.limit);
      break;
    case 'concurrency':
      for (const t of state) if (t > now) used++;
      break;
  }
  // Stryker disable next-line EqualityOperator: used >= 0 returns used, 0, when it is 0
  return Number.isFinite(used) && used > 0 ? used : 0;
}

/** The state of `algorithm` that holds `used` units charged at `now`. */
function fromUsed(algorithm: Counting, p: Params, used: number, now: number, leases?: readonly number[]): number[] | null {
  if (!(used > 0)) return null;
  const w = p.windowMs;
  switch (algorithm) {
    case 'sliding-log':
      return [now, used];
    case 'rolling-quota':
      return [Math.floor(now / bucketWidth(p)) * bucketWidth(p), used];
    case 'fixed-window':
      return [Math.floor(now / w) * w, used];
    case 'sliding-window':
      return [Math.floor(now / w) * w, 0, used];
    case 'gcra':
      return [now + used * (w / p.limit)];
    case 'concurrency': {
      // Leases keep their expiry (at most one new lease length away); others become leases taken now.
      // Stryker disable next-line all: unreachable — a concurrency state is carried only into concurrency, which keeps() keeps as it is
      if (leases) return leases.filter((t) => t > now).map((t) => Math.min(t, now + w));
      return Array.from({ length: Math.ceil(used) }, () => now + w);
    }
  }
}

/** Whether the old state reads the same under the new parameters. */
function keeps(c: RuleChange, { from: a, to: b }: CarrySides): boolean {
  if (c.from.algorithm !== c.to.algorithm) return false;
  switch (c.to.algorithm) {
    case 'sliding-log':
    case 'concurrency':
      return true; // times and costs (lease expiries), whatever the limit or window
    case 'rolling-quota':
      return bucketWidth(a) === bucketWidth(b);
    case 'fixed-window':
    case 'sliding-window':
      return a.windowMs === b.windowMs;
    case 'gcra':
      return a.windowMs / a.limit === b.windowMs / b.limit;
  }
}

function sameKey(a: CompiledRule, b: CompiledRule): boolean {
  return a.keyAttrs.length === b.keyAttrs.length && a.keyAttrs.every((k, i) => k === b.keyAttrs[i]);
}

function sameParams(a: Params, b: Params): boolean {
  return a.limit === b.limit && a.windowMs === b.windowMs && a.burst === b.burst && a.buckets === b.buckets;
}

function describe(o: CompiledRule, r: CompiledRule): string {
  const what = (x: CompiledRule) => `${x.algorithm} ${x.params.limit} per ${x.params.windowMs} ms`;
  if (o.algorithm === r.algorithm) return `rule "${r.name}": ${what(o)} becomes ${what(r)}; its counts carry over`;
  const defaults = new Set(['sliding-log', 'sliding-window']);
  const crossed = defaults.has(o.algorithm) && defaults.has(r.algorithm) && (o.params.limit > EXACT_LOG_MAX) !== (r.params.limit > EXACT_LOG_MAX);
  const why = crossed ? ` (the default algorithm is sliding-log up to ${EXACT_LOG_MAX} per window and sliding-window above; set algorithm: to keep one)` : '';
  return `rule "${r.name}": algorithm changes from ${what(o)} to ${what(r)}${why}; its counts carry over conservatively`;
}
