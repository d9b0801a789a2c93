import type { Decision } from '../engine/decision.js';
import type { Clock, Sluice } from '../engine/sluice.js';
import { localId, stateKeyFor } from '../engine/keys.js';
import type { CompiledPolicy, CompiledRule, Subject } from '../policy/compiled.js';
import { LatencyHistogram, type LatencySummary } from './latency.js';
import { FIELDS, N_FIELDS, TieredSeries, type Field } from './series.js';
import { boundBytes, SpaceSaving, type HeavyHitter } from './space-saving.js';

/** What the service's decision routes tell an observer (ServerMetrics forwards to it). */
export interface DecisionObserver {
  decision(d: Decision, ms: number, subject: Subject | undefined): void;
  reload(ok: boolean, detail?: ReloadDetail): void;
}

export interface ReloadDetail {
  who?: string;
  trigger?: string;
  source?: string;
  rules?: number;
  message?: string;
}

export interface ReloadEntry extends ReloadDetail {
  at: string;
  ok: boolean;
}

/** A refused subject as the summary keeps it, to look its usage up later (bounded: see SAMPLE_BYTES). */
export type Sample = Record<string, string | number | boolean>;

/** A kept subject has at most this many attributes, names ≤ 64 characters and string values ≤ 128. */
const SAMPLE_ATTRS = 8;
const SAMPLE_NAME_CHARS = 64;
const SAMPLE_VALUE_CHARS = 128;
/** Bytes a sample can take: per attribute two strings (2 B a character + a 24 B header) and a property slot, plus the object. */
export const SAMPLE_BYTES = SAMPLE_ATTRS * (2 * SAMPLE_NAME_CHARS + 2 * SAMPLE_VALUE_CHARS + 2 * 24 + 16) + 64;

/**
 * Heavy hitters kept per rule. The list over all rules is the per-rule lists merged: each
 * key belongs to one rule, so the merge keeps every summary's guarantee, and a refusal
 * costs one offer, keyed by the key's values as the engine names them within the rule.
 */
export const PER_RULE_CAPACITY = 64;
/** Rules tracked; decisions of further names (possible only across many reloads) count under "other". */
const MAX_TRACKS = 64;
const RECENT_RELOADS = 20;
const TICK_MS = 1000;

const ALLOWED = 0;
const REFUSED = 1;
const DROPPED = 2;
const NEAR = 3;
const SHADOW = 4;
/** envoyproxy/ratelimit's near_limit: admitted with less than this share of the limit left (its default ratio 0.8). */
const NEAR_SHARE = 0.2;

interface Track {
  readonly rule: string;
  /** The rule under the current policy (undefined for "none", "other", or a rule no longer there). */
  compiled?: CompiledRule;
  /** Counts since the last tick (FIELDS order). */
  readonly pending: Float64Array;
  readonly totals: Float64Array;
  readonly series: TieredSeries;
  readonly top: SpaceSaving<Subject, Sample>;
}

/** One tick's counts of one rule, for the exporters (FIELDS order). */
export interface TickCounts {
  rule: string;
  counts: Float64Array;
}

/** One rule's counts per slot (oldest first, slot k starts at t0 + k × stepMs) and its totals since start. */
export type RuleSeries = { rule: string; t0: number; stepMs: number; totals: Record<Field, number> } & Record<Field, number[]>;

export interface RefusedKey {
  rule: string;
  /** The state key ("rule|value…"), as the admin API names it. */
  stateKey: string;
  /** The key's values by attribute, e.g. { account: "acme" }. */
  key: Record<string, string>;
  count: number;
  error: number;
  sample?: Sample;
}

/**
 * The dashboard's bookkeeping: per rule, decisions per second at three resolutions, the
 * most refused keys (Space-Saving, bounded), decision latency (a fixed histogram) and the
 * last reloads. The hot path (decision) bumps numbers in arrays it already holds; a 1 s
 * tick moves them into the rings and hands them to the exporters. Memory is fixed: about
 * 130 KB of rings per rule (up to 64 rules) and `heavyHitterBoundBytes()` of summaries.
 */
export class DashboardRecorder implements DecisionObserver {
  private readonly tracks = new Map<string, Track>();
  readonly latency = new LatencyHistogram();
  private readonly reloads: ReloadEntry[] = [];
  private readonly listeners: ((now: number, counts: TickCounts[]) => void)[] = [];
  private readonly clock: Clock;
  private timer?: NodeJS.Timeout;
  private policy?: CompiledPolicy;
  private hasShadow = false;
  readonly startedAt: number;

  constructor(
    private readonly getSluice: () => Sluice,
    opts: { clock?: Clock } = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  /** Ticks every second until stop(); the timer does not keep the process alive. */
  start(): this {
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Hot path: counts one decision of the service. */
  decision(d: Decision, ms: number, subject: Subject | undefined): void {
    const policy = this.getSluice().policy;
    if (policy !== this.policy) this.policyChanged(policy);
    const name = d.rule ?? 'none';
    const t = this.tracks.get(name) ?? this.track(name);
    const action = d.action;
    if (action === 'allow') {
      t.pending[ALLOWED]++;
      if (d.remaining < d.limit * NEAR_SHARE) t.pending[NEAR]++;
    } else {
      t.pending[action === 'reject' ? REFUSED : DROPPED]++;
      // A one-attribute key's id is the value itself: no string is built for a refusal.
      if (subject !== undefined && t.compiled !== undefined) t.top.offer(localId(t.compiled, subject), 1, subject);
    }
    this.latency.add(ms);
    if (this.hasShadow) for (const shadow of d.shadowDenied) (this.tracks.get(shadow) ?? this.track(shadow)).pending[SHADOW]++;
  }

  reload(ok: boolean, detail: ReloadDetail = {}): void {
    this.reloads.unshift({ at: new Date(this.clock()).toISOString(), ok, ...detail });
    this.reloads.length = Math.min(this.reloads.length, RECENT_RELOADS);
  }

  /** Moves the counts since the last tick into the rings (at `now`) and hands them to the exporters. */
  tick(now = this.clock()): void {
    const out: TickCounts[] = [];
    for (const t of this.tracks.values()) {
      let any = false;
      for (let f = 0; f < N_FIELDS; f++) if (t.pending[f] !== 0) any = true;
      if (!any) continue;
      t.series.add(now, t.pending);
      for (let f = 0; f < N_FIELDS; f++) t.totals[f] += t.pending[f];
      out.push({ rule: t.rule, counts: Float64Array.from(t.pending) });
      t.pending.fill(0);
    }
    this.latency.tick();
    for (const l of this.listeners) l(now, out);
  }

  /** Called after every tick with that tick's non-zero counts. */
  onTick(listener: (now: number, counts: TickCounts[]) => void): void {
    this.listeners.push(listener);
  }

  /** Per rule seen (policy rules first, then any others), `points` slots at `stepMs` ending now. */
  series(stepMs: number, points: number, now = this.clock()): RuleSeries[] {
    const names = new Set([...this.getSluice().policy.rules.map((r) => r.name), ...this.tracks.keys()]);
    return [...names].map((rule) => {
      const t = this.tracks.get(rule);
      const s = t ? t.series.read(stepMs, now, points) : emptySeries(stepMs, now, points);
      const totals = t ? t.totals : new Float64Array(N_FIELDS);
      return {
        rule,
        t0: s.t0,
        stepMs: s.stepMs,
        ...(Object.fromEntries(FIELDS.map((f, i) => [f, s.values[i]])) as Record<Field, number[]>),
        totals: Object.fromEntries(FIELDS.map((f, i) => [f, totals[i]])) as Record<Field, number>,
      };
    });
  }

  /** The most refused keys, over all rules or of one rule. */
  topRefused(n: number, rule?: string): RefusedKey[] {
    const tracks = rule === undefined ? [...this.tracks.values()] : [this.tracks.get(rule)].filter((t) => t !== undefined);
    const all = tracks.flatMap((t) => (t.compiled ? t.top.top(n).map((h) => this.refusedKey(t.compiled!, h)) : []));
    return all.sort((a, b) => b.count - a.count).slice(0, n);
  }

  /** Rules that have refused keys, with their summaries' sizes. */
  refusingRules(): string[] {
    return [...this.tracks.values()].filter((t) => t.top.size > 0).map((t) => t.rule);
  }

  recentReloads(): ReloadEntry[] {
    return this.reloads.slice();
  }

  latencySummary(): LatencySummary {
    return this.latency.summary();
  }

  /** The most the heavy-hitter summaries can hold, bytes, with every rule tracked. */
  static heavyHitterBoundBytes(): number {
    return MAX_TRACKS * boundBytes(PER_RULE_CAPACITY, SAMPLE_BYTES);
  }

  private refusedKey(rule: CompiledRule, h: HeavyHitter<Sample>): RefusedKey {
    // The values from the kept subject; the id's own text only for those it did not keep.
    const attrs = rule.keyAttrs;
    const parts = attrs.length === 1 ? [h.key] : h.key.split('|').map(decodePart);
    const key: Record<string, string> = {};
    attrs.forEach((a, i) => (key[a] = h.payload?.[a] !== undefined ? String(h.payload[a]) : (parts[i] ?? '')));
    return { rule: rule.name, stateKey: stateKeyFor(rule, key), key, count: h.count, error: h.error, ...(h.payload ? { sample: h.payload } : {}) };
  }

  private track(name: string): Track {
    if (this.tracks.size >= MAX_TRACKS) {
      const other = this.tracks.get('other');
      if (other) return other;
      name = 'other';
    }
    const t: Track = {
      rule: name,
      pending: new Float64Array(N_FIELDS),
      totals: new Float64Array(N_FIELDS),
      series: new TieredSeries(),
      top: new SpaceSaving<Subject, Sample>(PER_RULE_CAPACITY, sampleOf),
      compiled: this.policy?.ruleByName.get(name),
    };
    this.tracks.set(name, t);
    return t;
  }

  private policyChanged(p: CompiledPolicy): void {
    this.policy = p;
    this.hasShadow = p.rules.some((r) => r.shadow);
    for (const t of this.tracks.values()) {
      const next = p.ruleByName.get(t.rule);
      // Keys named by other attributes are other keys: the rule's list starts again.
      if (t.compiled && (!next || next.keyAttrs.join('\u0000') !== t.compiled.keyAttrs.join('\u0000'))) t.top.clear();
      t.compiled = next;
    }
  }
}

/** A bounded copy of a subject: the first SAMPLE_ATTRS attributes with short enough names and values. */
export function sampleOf(subject: Subject): Sample {
  const out: Sample = {};
  let n = 0;
  for (const name in subject) {
    if (n >= SAMPLE_ATTRS) break;
    const v = subject[name];
    if (v === null || v === undefined || name.length > SAMPLE_NAME_CHARS) continue;
    if (typeof v === 'string' && v.length > SAMPLE_VALUE_CHARS) continue;
    out[name] = v;
    n++;
  }
  return out;
}

function decodePart(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function emptySeries(stepMs: number, now: number, points: number) {
  const n = points;
  const last = Math.floor(now / stepMs);
  return { t0: (last - n + 1) * stepMs, stepMs, values: FIELDS.map(() => new Array<number>(n).fill(0)) };
}
