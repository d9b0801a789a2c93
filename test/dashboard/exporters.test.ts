import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otlpMetricsUrl, parseHostPort, startExporters } from '../../src/dashboard/exporters/index.js';
import { statName } from '../../src/dashboard/exporters/statsd.js';
import { DashboardRecorder } from '../../src/dashboard/recorder.js';
import { Sluice } from '../../src/engine/sluice.js';
import { start, stopAll } from '../server/support.js';
import { accountPolicy, rule } from './policies.js';

const POLICY = accountPolicy(rule('name: watch-ip', 'key: [ip]', 'limit: 1/1m', 'shadow: true'));
const quiet = pino({ level: 'silent' });
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(stopAll);

/** A StatsD server on loopback: every packet's lines, as name → summed value. */
async function statsdListener(): Promise<{ port: number; lines: string[]; sums: () => Map<string, number> }> {
  const socket: Socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (m) => lines.push(...m.toString('utf8').split('\n').filter(Boolean)));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  const sums = () => {
    const m = new Map<string, number>();
    for (const l of lines) {
      const [name, rest] = l.split(':');
      const [v, type] = rest.split('|');
      expect(type).toBe('c');
      m.set(name, (m.get(name) ?? 0) + Number(v));
    }
    return m;
  };
  return { port: (socket.address() as AddressInfo).port, lines, sums };
}

/** An OTLP/HTTP collector on loopback that decodes the JSON payloads: latest value per metric and attributes. */
async function otlpReceiver(): Promise<{ url: string; paths: string[]; value: (name: string, attrs?: Record<string, string>) => number | undefined }> {
  const latest = new Map<string, number>();
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rm of body.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics ?? [])
          for (const m of sm.metrics ?? []) {
            const points = m.sum?.dataPoints ?? m.gauge?.dataPoints ?? [];
            for (const p of points) {
              const attrs = Object.fromEntries((p.attributes ?? []).map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue]));
              latest.set(`${m.name}${JSON.stringify(sorted(attrs))}`, Number(p.asInt ?? p.asDouble));
            }
          }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    value: (name, attrs = {}) => latest.get(`${name}${JSON.stringify(sorted(attrs))}`),
  };
}

function sorted(o: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('StatsD exporter', () => {
  it("sends envoyproxy/ratelimit's counters per rule, once a tick", async () => {
    const listener = await statsdListener();
    let now = Date.UTC(2026, 0, 5, 9);
    const sluice = Sluice.openSync({ policy: POLICY, clock: () => now });
    const rec = new DashboardRecorder(() => sluice, { clock: () => now });
    const stop = await startExporters(rec, sluice, { statsd: `127.0.0.1:${listener.port}`, statsdDomain: 'edge api' }, quiet);
    cleanup.push(stop);
    // per-account: 3 admitted (the third near its limit), 2 refused; watch-ip (shadow) would refuse 2 of them.
    for (let i = 0; i < 5; i++) {
      const subject = { account: 'acme', ip: i < 3 ? `10.0.0.${i % 2}` : '10.0.0.9' };
      rec.decision(sluice.checkSync(subject), 0.1, subject);
    }
    rec.tick(now);
    now += 1000;
    rec.tick(now); // nothing new: nothing sent
    const base = 'ratelimit.service.rate_limit.edge_api';
    const want = new Map([
      [`${base}.per-account.total_hits`, 5],
      [`${base}.per-account.over_limit`, 2],
      [`${base}.per-account.within_limit`, 3],
      [`${base}.per-account.near_limit`, 1],
      [`${base}.watch-ip.shadow_mode`, 1],
    ]);
    await expect.poll(() => listener.sums(), { timeout: 5000 }).toEqual(want);
  });

  it('names: separators replaced; a bad target refused with what and where', () => {
    expect(statName('a:b|c@d e')).toBe('a_b_c_d_e');
    expect(parseHostPort('[::1]:8125', '--statsd')).toEqual({ host: '::1', port: 8125 });
    expect(() => parseHostPort('localhost', '--statsd')).toThrow(/--statsd must be host:port/);
    expect(() => parseHostPort('h:70000', '--statsd')).toThrow(/host:port/);
  });
});

describe('OpenTelemetry exporter', () => {
  it('exports the decisions over OTLP/HTTP JSON from the running service, names and values', async () => {
    const collector = await otlpReceiver();
    const s = await start({ policy: POLICY, exporters: { otlpEndpoint: collector.url, otlpIntervalMs: 300 } });
    for (let i = 0; i < 5; i++) await s.post('/v1/check', { subject: { account: 'acme' } });
    await s.post('/v1/check', { subject: { account: 'globex', ip: '10.1.1.1' } });
    await s.post('/v1/check', { subject: { account: 'globex', ip: '10.1.1.1' } });
    await expect.poll(() => collector.value('sluice.decisions', { rule: 'per-account', action: 'reject' }), { timeout: 15_000, interval: 100 }).toBe(2);
    await expect.poll(() => collector.value('sluice.decisions', { rule: 'per-account', action: 'allow' }), { timeout: 15_000, interval: 100 }).toBe(5);
    expect(collector.value('sluice.decisions.near_limit', { rule: 'per-account' })).toBe(1);
    expect(collector.value('sluice.decisions.shadow_denied', { rule: 'watch-ip' })).toBe(1);
    expect(collector.value('sluice.keys_tracked')).toBeGreaterThanOrEqual(2);
    expect(collector.value('sluice.store.errors')).toBe(0);
    expect(collector.paths[0]).toMatch(/^POST \/v1\/metrics application\/json/);
    await s.close();
  });

  it('takes a collector base URL or its full metrics URL', () => {
    expect(otlpMetricsUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/metrics');
    expect(otlpMetricsUrl('http://127.0.0.1:4318/')).toBe('http://127.0.0.1:4318/v1/metrics');
    expect(otlpMetricsUrl('http://c:4318/v1/metrics')).toBe('http://c:4318/v1/metrics');
    expect(() => otlpMetricsUrl('not a url')).toThrow();
  });
});

describe('loading', () => {
  /** Every package a module pulls in through static imports, following the repo's own files. */
  function staticPackages(entry: string, seen = new Set<string>(), out = new Set<string>()): Set<string> {
    if (seen.has(entry)) return out;
    seen.add(entry);
    const text = readFileSync(entry, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
      const spec = m[1];
      if (/^import\s+type\s/.test(m[0].trim()) || /^export\s+type\s/.test(m[0].trim())) continue;
      if (spec.startsWith('.')) staticPackages(fileURLToPath(new URL(spec.replace(/\.js$/, '.ts'), pathToFileURL(entry))), seen, out);
      else out.add(spec);
    }
    return out;
  }

  it('loads OpenTelemetry and hot-shots only when an exporter is asked for', () => {
    const src = (f: string) => fileURLToPath(new URL(`../../src/${f}`, import.meta.url));
    for (const entry of ['index.ts', 'server/serve.ts', 'cli.ts']) {
      const pkgs = [...staticPackages(src(entry))];
      expect(pkgs.filter((p) => p.startsWith('@opentelemetry/') || p === 'hot-shots'), entry).toEqual([]);
    }
    // The exporters themselves do import them (so the walk above would see a static import).
    expect([...staticPackages(src('dashboard/exporters/otlp.ts'))]).toContain('@opentelemetry/sdk-metrics');
    expect([...staticPackages(src('dashboard/exporters/statsd.ts'))]).toContain('hot-shots');
  });
});
