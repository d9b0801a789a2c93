import type { ExporterOptions } from './exporters/index.js';

/** What `sluice serve`'s dashboard flags parse to (commander's --no-dashboard sets dashboard false). */
export interface DashboardFlags {
  dashboard?: boolean;
  otlpEndpoint?: string;
  statsd?: string;
  statsdDomain?: string;
}

/** The serve() options the dashboard flags stand for. */
export function dashboardServeOptions(flags: DashboardFlags): { dashboard: boolean; exporters?: ExporterOptions } {
  const dashboard = flags.dashboard !== false && process.env.SLUICE_DASHBOARD !== 'off';
  const exporters: ExporterOptions = {
    ...(flags.otlpEndpoint ? { otlpEndpoint: flags.otlpEndpoint } : {}),
    ...(flags.statsd ? { statsd: flags.statsd } : {}),
    ...(flags.statsdDomain ? { statsdDomain: flags.statsdDomain } : {}),
  };
  return { dashboard, ...(Object.keys(exporters).length ? { exporters } : {}) };
}

/** The OTLP metrics endpoint from the environment, as the OpenTelemetry SDKs read it. */
export function otlpEndpointFromEnv(): string | undefined {
  return process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}
