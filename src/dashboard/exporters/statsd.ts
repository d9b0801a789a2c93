import StatsDClient, { type StatsD } from 'hot-shots';
import type { Logger } from 'pino';
import type { DashboardRecorder, TickCounts } from '../recorder.js';
import { parseHostPort } from './endpoints.js';

/**
 * StatsD under envoyproxy/ratelimit's names, so dashboards built for it keep working:
 *   ratelimit.service.rate_limit.<domain>.<rule>.total_hits    every decision
 *   ….over_limit    refused (rejected or dropped)
 *   ….within_limit  admitted
 *   ….near_limit    admitted with less than 20% of the limit left (envoy's 0.8 ratio)
 *   ….shadow_mode   a shadow rule would have refused
 * Counters are sent once a second (the dashboard's tick), only when non-zero.
 */
export function startStatsdExporter(recorder: DashboardRecorder, opts: { target: string; domain: string }, log: Logger): () => Promise<void> {
  const { host, port } = parseHostPort(opts.target, '--statsd');
  const client = new StatsDClient({
    host,
    port,
    protocol: 'udp',
    maxBufferSize: 1400,
    bufferFlushInterval: 200,
    errorHandler: (e) => log.warn({ err: e, statsd: opts.target }, 'statsd send failed'),
  });
  const base = `ratelimit.service.rate_limit.${statName(opts.domain)}`;
  recorder.onTick((_now, ticks) => {
    for (const t of ticks) send(client, `${base}.${statName(t.rule)}`, t);
  });
  return () => new Promise<void>((done) => client.close(() => done()));
}

function send(client: StatsD, prefix: string, { counts }: TickCounts): void {
  const [allowed, refused, dropped, near, shadow] = counts;
  const stats: [string, number][] = [
    ['total_hits', allowed + refused + dropped],
    ['over_limit', refused + dropped],
    ['within_limit', allowed],
    ['near_limit', near],
    ['shadow_mode', shadow],
  ];
  for (const [name, v] of stats) if (v > 0) client.increment(`${prefix}.${name}`, v);
}

/** StatsD's separators (: | @) and whitespace cannot be in a name. */
export function statName(s: string): string {
  return s.replace(/[:|@\s]/g, '_');
}
