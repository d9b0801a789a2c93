import type { Logger } from 'pino';
import type { Sluice } from '../../engine/sluice.js';
import type { DashboardRecorder } from '../recorder.js';
import { otlpMetricsUrl } from './endpoints.js';

/** Where the dashboard's numbers are also sent. Each exporter is loaded only when asked for. */
export interface ExporterOptions {
  /**
   * OTLP/HTTP (JSON) metrics: a collector's base URL (http://127.0.0.1:4318, as
   * OTEL_EXPORTER_OTLP_ENDPOINT) or its full metrics URL (…/v1/metrics).
   */
  otlpEndpoint?: string;
  /** How often OTLP metrics are pushed, ms. Default 10 s (OTEL_METRIC_EXPORT_INTERVAL). */
  otlpIntervalMs?: number;
  /** StatsD `host:port` (UDP), with envoyproxy/ratelimit's stat names. */
  statsd?: string;
  /** The `<domain>` of the StatsD names. Default "sluice". */
  statsdDomain?: string;
}

/** Starts the exporters asked for; the returned function flushes and stops them. */
export async function startExporters(recorder: DashboardRecorder, sluice: Sluice, opts: ExporterOptions, log: Logger): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  if (opts.otlpEndpoint) {
    const { startOtlpExporter } = await import('./otlp.js');
    stops.push(startOtlpExporter(recorder, sluice, { endpoint: opts.otlpEndpoint, intervalMs: opts.otlpIntervalMs }, log));
    log.info({ otlpEndpoint: otlpMetricsUrl(opts.otlpEndpoint) }, 'exporting metrics over OTLP/HTTP');
  }
  if (opts.statsd) {
    const { startStatsdExporter } = await import('./statsd.js');
    stops.push(startStatsdExporter(recorder, { target: opts.statsd, domain: opts.statsdDomain ?? 'sluice' }, log));
    log.info({ statsd: opts.statsd }, 'exporting stats to StatsD');
  }
  return async () => {
    for (const s of stops) await s().catch((e) => log.warn({ err: e }, 'stopping an exporter failed'));
  };
}

export { otlpMetricsUrl, parseHostPort } from './endpoints.js';
