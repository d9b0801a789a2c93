/** Where the exporters send: parsed and checked at startup, so a bad flag is one line, not a failed export later. */

/** The collector's metrics URL: a base URL gets /v1/metrics, as the OTLP spec's OTEL_EXPORTER_OTLP_ENDPOINT does. */
export function otlpMetricsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!/\/v1\/metrics\/?$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/metrics`;
  return u.toString();
}

/** Checks a StatsD target: "host:port", "[v6]:port". */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${what} must be host:port (e.g. 127.0.0.1:8125), got "${text}"`);
  return { host: m[1] ?? m[2], port };
}
