import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Decision } from '../engine/decision.js';
import type { Sluice } from '../engine/sluice.js';
import type { DecisionObserver, ReloadDetail } from '../dashboard/recorder.js';
import type { Subject } from '../policy/compiled.js';

/** Decision actions, in the order of the per-rule count arrays. */
const ACTIONS = ['allow', 'reject', 'drop'] as const;

/** Check latency buckets, in seconds: the engine answers in microseconds, the store in milliseconds. */
const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The service's Prometheus metrics, on its own registry.
 *
 * The hot path only bumps plain numbers (per-rule count arrays and an array of bucket counts);
 * prom-client's objects are brought up to date when /metrics is scraped, so a decision
 * costs no label hashing or metric bookkeeping.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Decisions not yet handed to prom-client: rule → counts per action (in ACTIONS order). */
  private readonly pending = new Map<string, Float64Array>();
  /** Check latency: per-bucket counts (not cumulative; the last is +Inf), sum and count. */
  private readonly latencyCounts = new Float64Array(BUCKETS.length + 1);
  private latencySum = 0;
  private latencyN = 0;
  private readonly reloads: Counter<'result'>;
  /** The dashboard's bookkeeping, when on: told of every decision and reload counted here. */
  observer?: DecisionObserver;

  constructor(getSluice: () => Sluice, opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, prefix: 'sluice_' });

    const pending = this.pending;
    new Counter({
      name: 'sluice_decisions_total',
      help: 'Decisions by binding rule ("none" when no rule matched) and action (allow, reject, drop).',
      labelNames: ['rule', 'action'] as const,
      registers: [r],
      collect() {
        for (const [rule, counts] of pending) {
          for (let a = 0; a < ACTIONS.length; a++) if (counts[a] > 0) this.inc({ rule, action: ACTIONS[a] }, counts[a]);
          counts.fill(0);
        }
      },
    });

    // The histogram is kept here, pre-bucketed, and handed to the registry as a metric of its own.
    r.registerMetric(this.latencyMetric() as never);

    const counter = (name: string, help: string, read: (s: Sluice) => number) => {
      let last = 0;
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          const v = read(getSluice());
          if (v > last) this.inc(v - last);
          last = v;
        },
      });
    };
    counter('sluice_store_errors_total', 'Store operations that failed.', (s) => s.counters.storeErrors);
    counter('sluice_store_fallback_decisions_total', 'Rule decisions made by the local in-memory stand-in because the store failed (fail-open rules).', (s) => s.counters.fallbackDecisions);
    counter('sluice_store_closed_decisions_total', 'Rule decisions refused with 503 because the store failed (fail-closed rules).', (s) => s.counters.closedDecisions);
    counter('sluice_store_short_circuited_total', 'Decisions that skipped the store because its circuit breaker was open.', (s) => s.counters.shortCircuited);
    counter('sluice_store_breaker_trips_total', 'Times the store circuit breaker opened after consecutive failures.', (s) => s.breaker.trips);

    new Gauge({
      name: 'sluice_keys_tracked',
      help: 'Keys holding live (unexpired) rate-limit state in the store.',
      registers: [r],
      async collect() {
        try {
          const sluice = getSluice();
          this.set(await sluice.store.size(sluice.now()));
        } catch {
          // An unreachable store shows up in sluice_store_errors_total and /readyz.
        }
      },
    });
    new Gauge({
      name: 'sluice_policy_rules',
      help: 'Rules in the policy being served.',
      registers: [r],
      collect() {
        this.set(getSluice().policy.rules.length);
      },
    });
    this.reloads = new Counter({
      name: 'sluice_policy_reloads_total',
      help: 'Policy reloads by result (success, failure).',
      labelNames: ['result'] as const,
      registers: [r],
    });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
  }

  /** Counts one decision and its latency (milliseconds). Hot path: no allocation once the key is known. */
  decision(d: Decision, ms: number, subject?: Subject): void {
    this.observer?.decision(d, ms, subject);
    // Rule names come from the policy, so the lookup hashes a string V8 has hashed before.
    const rule = d.rule ?? 'none';
    let counts = this.pending.get(rule);
    if (counts === undefined) this.pending.set(rule, (counts = new Float64Array(ACTIONS.length)));
    counts[d.action === 'allow' ? 0 : d.action === 'reject' ? 1 : 2]++;
    const s = ms / 1000;
    let i = 0;
    while (i < BUCKETS.length && s > BUCKETS[i]) i++;
    this.latencyCounts[i]++;
    this.latencySum += s;
    this.latencyN++;
  }

  reload(ok: boolean, detail?: ReloadDetail): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    this.observer?.reload(ok, detail);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A prom-client-compatible histogram over the hot path's own bucket counts. */
  private latencyMetric() {
    const name = 'sluice_check_duration_seconds';
    const get = async () => {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += this.latencyCounts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le: BUCKETS[i] }, value: cumulative });
      }
      cumulative += this.latencyCounts[BUCKETS.length];
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${name}_sum`, labels: {}, value: this.latencySum });
      values.push({ metricName: `${name}_count`, labels: {}, value: this.latencyN });
      return { name, help: 'Time the engine and store took to decide a check.', type: 'histogram', values, aggregator: 'sum' };
    };
    return { name, help: 'Time the engine and store took to decide a check.', type: 'histogram', aggregator: 'sum', get, reset() {} };
  }
}
