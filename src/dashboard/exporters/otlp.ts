import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { Sluice } from '../../engine/sluice.js';
import type { DashboardRecorder } from '../recorder.js';
import { otlpMetricsUrl } from './endpoints.js';

/**
 * OpenTelemetry metrics through the official SDK, pushed over OTLP/HTTP (JSON):
 *   sluice.decisions{rule, action}          counter: allow, reject, drop
 *   sluice.decisions.near_limit{rule}       counter: admitted with < 20% left
 *   sluice.decisions.shadow_denied{rule}    counter: a shadow rule would have refused
 *   sluice.store.errors, sluice.store.fallback_decisions, sluice.store.closed_decisions  counters
 *   sluice.keys_tracked                     gauge
 *   sluice.decision.duration.p50 / .p99     gauges, ms, over the last minute
 * Counts are added once a second from the dashboard's tick, so the hot path pays nothing more.
 */
export function startOtlpExporter(recorder: DashboardRecorder, sluice: Sluice, opts: { endpoint: string; intervalMs?: number }, log: Logger): () => Promise<void> {
  const exporter = new OTLPMetricExporter({ url: otlpMetricsUrl(opts.endpoint) });
  const interval = opts.intervalMs ?? (Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 10_000);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'sluice' }), readers: [reader] });
  const meter = provider.getMeter('sluice');

  const decisions = meter.createCounter('sluice.decisions', { description: 'Decisions by binding rule and action (allow, reject, drop).' });
  const near = meter.createCounter('sluice.decisions.near_limit', { description: 'Admitted decisions with less than 20% of the limit left.' });
  const shadow = meter.createCounter('sluice.decisions.shadow_denied', { description: 'Decisions a shadow rule would have refused.' });
  recorder.onTick((_now, ticks) => {
    for (const { rule, counts } of ticks) {
      const [allowed, refused, dropped, nearLimit, shadowDenied] = counts;
      if (allowed) decisions.add(allowed, { rule, action: 'allow' });
      if (refused) decisions.add(refused, { rule, action: 'reject' });
      if (dropped) decisions.add(dropped, { rule, action: 'drop' });
      if (nearLimit) near.add(nearLimit, { rule });
      if (shadowDenied) shadow.add(shadowDenied, { rule });
    }
  });

  const observed = (name: string, description: string, read: () => number) => meter.createObservableCounter(name, { description }).addCallback((r) => r.observe(read()));
  observed('sluice.store.errors', 'Store operations that failed.', () => sluice.counters.storeErrors);
  observed('sluice.store.fallback_decisions', 'Rule decisions made by the local stand-in because the store failed.', () => sluice.counters.fallbackDecisions);
  observed('sluice.store.closed_decisions', 'Rule decisions refused with 503 because the store failed.', () => sluice.counters.closedDecisions);
  meter.createObservableGauge('sluice.keys_tracked', { description: 'Keys holding rate-limit state in the store.' }).addCallback(async (r) => {
    try {
      r.observe(await sluice.store.size());
    } catch {
      // The failure is counted in sluice.store.errors.
    }
  });
  const p = (name: string, q: 'p50Ms' | 'p99Ms') =>
    meter.createObservableGauge(name, { description: `Decision latency ${q.slice(0, 3)} over the last minute.`, unit: 'ms' }).addCallback((r) => {
      const v = recorder.latencySummary()[q];
      if (v !== null) r.observe(v);
    });
  p('sluice.decision.duration.p50', 'p50Ms');
  p('sluice.decision.duration.p99', 'p99Ms');

  return async () => {
    try {
      await provider.shutdown(); // exports what is pending
    } catch (e) {
      log.warn({ err: e }, 'OTLP final export failed');
    }
  };
}
