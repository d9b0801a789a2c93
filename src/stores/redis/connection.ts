import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from './redis.js';

/**
 * A parsed Redis connection string:
 *   redis://[[user]:password@]host[:port][/db][?options]
 *   rediss://…                                              (TLS)
 *   redis+sentinel://[[user]:password@]host:port,host:port/mastername[/db][?options]
 *   redis+cluster://[[user]:password@]host:port,host:port,…[?options]
 * Options: timeout=250 (ms), prefix=sluice:, clock=server|client, tls=1 (sentinel/cluster),
 * tlsCa=<ca.pem>, tlsCert=<cert.pem>, tlsKey=<key.pem>, tlsServername=<name>,
 * sentinelPassword=…, maxInFlight=8, maxBatch=128, lean=0 (single node: the transaction calls
 * through ioredis rather than the lean connection, lean-connection.ts).
 */
export interface RedisSpec {
  kind: 'single' | 'sentinel' | 'cluster';
  hosts: { host: string; port: number }[];
  username?: string;
  password?: string;
  db?: number;
  masterName?: string;
  tls: boolean;
  options: Record<string, string>;
}

const SCHEMES: Record<string, { kind: RedisSpec['kind']; tls: boolean }> = {
  'redis:': { kind: 'single', tls: false },
  'rediss:': { kind: 'single', tls: true },
  'redis+sentinel:': { kind: 'sentinel', tls: false },
  'rediss+sentinel:': { kind: 'sentinel', tls: true },
  'redis+cluster:': { kind: 'cluster', tls: false },
  'rediss+cluster:': { kind: 'cluster', tls: true },
};

export function parseRedisUrl(url: string): RedisSpec {
  const m = /^([a-z+]+:)\/\/(.*)$/i.exec(url.trim());
  const scheme = m ? SCHEMES[m[1].toLowerCase()] : undefined;
  if (!m || !scheme) throw new Error(`Unsupported Redis connection string "${redact(url)}": use redis://, rediss://, redis+sentinel:// or redis+cluster://`);
  let rest = m[2];
  const options: Record<string, string> = {};
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) options[k] = v;
    rest = rest.slice(0, q);
  }
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const c = auth.indexOf(':');
    if (c >= 0) {
      username = decodeURIComponent(auth.slice(0, c)) || undefined;
      password = decodeURIComponent(auth.slice(c + 1));
    } else password = decodeURIComponent(auth);
  }
  const slash = rest.indexOf('/');
  const hostPart = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).split('/').filter(Boolean) : [];
  const hosts = hostPart.split(',').filter(Boolean).map((h) => parseHost(h, scheme.kind === 'sentinel' ? 26379 : 6379, url));
  if (hosts.length === 0) throw new Error(`Redis connection string "${redact(url)}" names no host`);
  const spec: RedisSpec = { kind: scheme.kind, hosts, tls: scheme.tls || options.tls === '1' || options.tls === 'true', options };
  if (username) spec.username = username;
  if (password !== undefined) spec.password = password;
  if (scheme.kind === 'single' && hosts.length > 1) throw new Error(`Redis connection string "${redact(url)}" names several hosts: use redis+sentinel:// or redis+cluster://`);
  if (scheme.kind === 'sentinel') {
    if (!path[0]) throw new Error(`Redis Sentinel connection string "${redact(url)}" needs the master name: redis+sentinel://host:port,host:port/mastername`);
    spec.masterName = decodeURIComponent(path[0]);
    if (path[1] !== undefined) spec.db = parseDb(path[1], url);
  } else if (scheme.kind === 'single' && path[0] !== undefined) spec.db = parseDb(path[0], url);
  else if (scheme.kind === 'cluster' && path.length) throw new Error(`Redis Cluster connection string "${redact(url)}" takes no database or path`);
  return spec;
}

function parseHost(h: string, defaultPort: number, url: string): { host: string; port: number } {
  let host = h;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(h);
  if (v6) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else {
    const c = h.lastIndexOf(':');
    if (c >= 0) {
      host = h.slice(0, c);
      port = Number(h.slice(c + 1));
    }
  }
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`Bad host "${h}" in Redis connection string "${redact(url)}"`);
  return { host, port };
}

function parseDb(s: string, url: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Bad database number "${s}" in Redis connection string "${redact(url)}"`);
  return n;
}

/** The connection string with its password hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:***@').replace(/\/\/([^:@/]+)@/, '//***@');
}

export interface ConnectOptions extends RedisStoreOptions {
  /** Connection attempt timeout in ms (default 2000). */
  connectTimeoutMs?: number;
  /** Extra ioredis options (advanced). */
  redisOptions?: RedisOptions;
}

/**
 * TLS settings from the query: `tlsCa` (a PEM file of the CA to trust, for a private CA),
 * `tlsCert` and `tlsKey` (a client certificate, when the server asks for one), `tlsServername`.
 * The server's certificate is always verified.
 */
function tlsOptions(o: Readonly<Record<string, string>>): ConnectionOptions {
  const file = (name: string) => {
    const path = o[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`Redis connection option ${name}=${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
    }
  };
  const ca = file('tlsCa');
  const cert = file('tlsCert');
  const key = file('tlsKey');
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(o.tlsServername ? { servername: o.tlsServername } : {}) };
}

/** Builds an ioredis client for a connection string, configured to fail fast while Redis is down. */
export function createRedisClient(spec: RedisSpec, opts: ConnectOptions = {}): Redis | Cluster {
  const timeout = Number(spec.options.timeout ?? opts.timeoutMs ?? 250);
  const common: RedisOptions = {
    // Fail fast: no offline queue, one retry, a command timeout; reconnect in the background.
    commandTimeout: timeout,
    maxRetriesPerRequest: 1,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    lazyConnect: true,
    ...(spec.username ? { username: spec.username } : {}),
    ...(spec.password !== undefined ? { password: spec.password } : {}),
    ...(spec.tls ? { tls: tlsOptions(spec.options) } : {}),
    ...opts.redisOptions,
  };
  const retryStrategy = (times: number) => Math.min(50 * times, 1000);
  if (spec.kind === 'cluster') {
    const { tls, ...nodeOpts } = common;
    const clusterOpts: ClusterOptions = {
      enableOfflineQueue: false,
      lazyConnect: true,
      clusterRetryStrategy: retryStrategy,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      slotsRefreshTimeout: 1000,
      redisOptions: { ...nodeOpts, ...(tls ? { tls } : {}) },
    };
    return new (ioredis().Cluster)(spec.hosts, clusterOpts);
  }
  if (spec.kind === 'sentinel') {
    return new (ioredis().Redis)({
      ...common,
      enableOfflineQueue: false,
      retryStrategy,
      sentinels: spec.hosts,
      name: spec.masterName!,
      ...(spec.db !== undefined ? { db: spec.db } : {}),
      ...(spec.options.sentinelPassword ? { sentinelPassword: spec.options.sentinelPassword } : {}),
      ...(spec.tls ? { enableTLSForSentinelMode: true } : {}),
    });
  }
  return new (ioredis().Redis)({
    ...common,
    enableOfflineQueue: false,
    retryStrategy,
    host: spec.hosts[0].host,
    port: spec.hosts[0].port,
    ...(spec.db !== undefined ? { db: spec.db } : {}),
  });
}

/**
 * Opens a RedisStore for a connection string. When Redis cannot be reached within the
 * connect timeout the store is returned anyway (it keeps reconnecting in the background,
 * and the engine's on_store_error fallback decides meanwhile), unless `requireConnection`.
 */
export async function connectRedisStore(url: string, opts: ConnectOptions & { requireConnection?: boolean } = {}): Promise<RedisStore> {
  const spec = parseRedisUrl(url);
  const o = spec.options;
  const storeOpts: RedisStoreOptions = {
    ...opts,
    timeoutMs: Number(o.timeout ?? opts.timeoutMs ?? 250),
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
    ...(o.clock === 'client' || o.clock === 'server' ? { clock: o.clock } : {}),
    ...(o.maxInFlight ? { maxInFlight: Number(o.maxInFlight) } : {}),
    ...(o.maxBatch ? { maxBatch: Number(o.maxBatch) } : {}),
    ...(o.lean === '0' || o.lean === 'false' ? { leanConnection: false } : {}),
  };
  if (!(storeOpts.timeoutMs! > 0)) throw new Error(`Bad timeout in Redis connection string "${redact(url)}"`);
  const client = createRedisClient(spec, { ...opts, timeoutMs: storeOpts.timeoutMs });
  const store = new RedisStore(client, storeOpts);
  const connectTimeout = opts.connectTimeoutMs ?? 2000;
  try {
    await withTimeout(client.connect(), connectTimeout, `could not connect to ${redact(url)} within ${connectTimeout} ms`);
    if (client.isCluster) await waitClusterReady(client as Cluster, connectTimeout);
  } catch (e) {
    if (opts.requireConnection) {
      await store.close();
      throw e;
    }
    opts.onError?.(e);
  }
  return store;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

async function waitClusterReady(c: Cluster, ms: number): Promise<void> {
  if (c.status === 'ready') return;
  await withTimeout(new Promise<void>((res) => c.once('ready', () => res())), ms, 'Redis Cluster did not become ready');
}

/** ioredis (≈240 ms to load) is loaded when a Redis store is opened, not when the package is imported. */
function ioredis(): { Redis: typeof Redis; Cluster: typeof Cluster } {
  return createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis; Cluster: typeof Cluster };
}
