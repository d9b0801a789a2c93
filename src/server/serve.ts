import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { FailureLog } from '../engine/failure-log.js';
import { emptyPolicy } from '../engine/outside-rules.js';
import { Sluice, type Clock } from '../engine/sluice.js';
import { EnvoyRateLimiter, loadEnvoyConfig, startEnvoyGrpc, type EnvoyGrpcServer, type EnvoyStoreErrorMode } from '../envoy/index.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { loadPolicy, loadPolicyText, type PolicySource } from '../policy/load.js';
import { listen } from '../http/plain-server.js';
import { DEFAULT_GRACE_MS, trackConnections, type GracefulCloser } from '../http/graceful-close.js';
import { AdminAuth } from './auth.js';
import { resolveTokens } from './tokens.js';
import type { ServerContext } from './context.js';
import { ServerMetrics } from './metrics.js';
import { PolicyReloader, type ReloadResult } from './reload.js';
import { buildServer } from './server.js';
import { WriteBatch } from './write-batch.js';
import { resolveStore, type StoreSpec } from './store.js';
import { DashboardRecorder } from '../dashboard/recorder.js';
import { startExporters, type ExporterOptions } from '../dashboard/exporters/index.js';
import { envoyFailureLogger } from './routes/envoy-json.js';
import { DEFAULT_BODY_LIMIT } from './schemas.js';

/** Options of `sluice serve` (each also from the environment, read by the CLI). */
export interface ServeOptions {
  /** Policy file (YAML or JSON); watched and hot-reloaded. SLUICE_CONFIG. */
  config?: string;
  /** An inline policy instead of a file (YAML/JSON text, object, or compiled); not reloadable. */
  policy?: PolicySource | CompiledPolicy;
  /** HTTP port; 0 picks a free one. Default 8080. SLUICE_PORT. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only): say 0.0.0.0 or :: to expose the service. SLUICE_HOST. */
  host?: string;
  /** Serve the admin API on its own port (same host) instead of next to the decision API, which then answers 404 for it. SLUICE_ADMIN_PORT. */
  adminPort?: number;
  /** Envoy rate-limit gRPC port (RateLimitService/ShouldRateLimit); off when undefined. Needs envoyConfig. SLUICE_GRPC_PORT. */
  grpcPort?: number;
  /** Serve Envoy's POST /json on its own port instead of next to the decision API (which then answers 404 for it). SLUICE_ENVOY_PORT. */
  envoyPort?: number;
  /** Interface for Envoy's protocol (gRPC and, with envoyPort, /json). Default: `host`. SLUICE_ENVOY_HOST. */
  envoyHost?: string;
  /**
   * Honour a descriptor's request-level `limit` (envoy's RateLimitDescriptor.limit) over the
   * configured one. Off by default: any caller of /json or gRPC could otherwise raise its
   * own limit; turn it on only where Envoy alone can reach the port. SLUICE_ENVOY_REQUEST_LIMITS.
   */
  envoyRequestLimits?: boolean;
  /** For Envoy limits without rate_limit.on_store_error: open, closed, or error (default: answer the failure). */
  envoyOnStoreError?: EnvoyStoreErrorMode;
  /**
   * Envoy ratelimit configuration (a file, a directory of *.yaml, or YAML text), as envoy's
   * own service reads it. Enables POST /json and, with grpcPort, the gRPC service; reloaded
   * with the policy. SLUICE_ENVOY_CONFIG.
   */
  envoyConfig?: string;
  /** 'memory' (default), 'sqlite:./data/sluice.db', 'redis://…', 'redis+cluster://…', or a Store instance (not closed by the service). SLUICE_STORE. */
  store?: StoreSpec;
  /** Bearer token for the admin API (read and write). SLUICE_ADMIN_TOKEN. */
  adminToken?: string;
  /** Bearer token for the admin API, read only. SLUICE_READ_TOKEN. */
  readToken?: string;
  /** A file holding the admin token (so it shows in no process list). SLUICE_ADMIN_TOKEN_FILE. */
  adminTokenFile?: string;
  /** A file holding the read-only token. SLUICE_READ_TOKEN_FILE. */
  readTokenFile?: string;
  /** pino level: fatal, error, warn, info (default), debug, trace, silent. SLUICE_LOG_LEVEL. */
  logLevel?: string;
  /** A pino logger to use instead of a new one (logLevel is then ignored). */
  logger?: Logger;
  /** Milliseconds since the epoch; inject one in tests. Default: the monotonic Sluice clock (src/engine/clock.ts). */
  clock?: Clock;
  /** Watch the policy file and reload it when it changes. Default true when `config` is given. */
  watch?: boolean;
  /** Reload on SIGHUP and shut down gracefully on SIGTERM/SIGINT. Default true. */
  handleSignals?: boolean;
  /** Largest request body, bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Bound on keys for the memory store and the fallback limiter (--max-keys, SLUICE_MAX_KEYS). */
  maxKeys?: number;
  /** Store failures are logged at most once per this many ms, with a count. Default 10 s. */
  storeErrorLogIntervalMs?: number;
  /** Collect Node's process metrics on /metrics. Default true. */
  processMetrics?: boolean;
  /**
   * The grace period, ms (--grace-period, SLUICE_GRACE_PERIOD; default 10 s): on SIGTERM the
   * service stops accepting, answers what is in flight (with `Connection: close`), closes idle
   * connections, and exits within it; whatever is still open at its end is cut, never served.
   */
  shutdownTimeoutMs?: number;
  /** The live dashboard at /dashboard and its bookkeeping. Default true. SLUICE_DASHBOARD=off turns it off. */
  dashboard?: boolean;
  /** Export the dashboard's numbers: OTLP/HTTP metrics endpoint and/or a StatsD host:port (see src/dashboard/exporters). */
  exporters?: ExporterOptions;
}

export interface ServeHandle {
  /** The bound HTTP port (the real one when 0 was asked for). */
  readonly port: number;
  /** The bound Envoy gRPC port, when started. */
  readonly grpcPort?: number;
  /** The bound admin port, when the admin API has its own. */
  readonly adminPort?: number;
  /** http://host:adminPort, when the admin API has its own port. */
  readonly adminUrl?: string;
  /** The bound port of Envoy's POST /json, when it has its own. */
  readonly envoyPort?: number;
  /** http://envoyHost:envoyPort, when Envoy's /json has its own port. */
  readonly envoyUrl?: string;
  /** http://host:port, with 127.0.0.1 for a wildcard host. */
  readonly url: string;
  readonly sluice: Sluice;
  readonly app: FastifyInstance;
  readonly log: Logger;
  /** Reloads the policy file now (as SIGHUP does). */
  reload(): ReloadResult;
  /** Stops accepting, finishes in-flight requests, closes the store (when the service opened it). Idempotent. */
  close(): Promise<void>;
}

export { DEFAULT_BODY_LIMIT };

/** Starts the Sluice service: decision API, admin API, metrics, health, and Envoy's protocol when available. */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const log = options.logger ?? pino({ level: options.logLevel ?? 'info', base: { service: 'sluice' } });

  // Tokens and policy first: a bad token setup (TokenConfigError) or a broken policy file
  // (PolicyError) stops startup before any port opens.
  const tokens = resolveTokens(options);
  let policy: CompiledPolicy;
  let text: string | undefined;
  const file = options.config === undefined ? undefined : resolve(options.config);
  if (file !== undefined) {
    text = readFileSync(file, 'utf8');
    policy = loadPolicyText(text, file);
  } else if (options.policy !== undefined) {
    policy = isCompiled(options.policy) ? options.policy : loadPolicy(options.policy);
  } else if (options.envoyConfig !== undefined) {
    // Envoy-only: the decision API answers "allow" (no rules); envoy's protocol does the work.
    policy = emptyPolicy('<none: envoy config only>');
  } else {
    throw new Error('serve needs a policy: give --config <file> (or SLUICE_CONFIG), or --envoy-config');
  }

  const opened = await resolveStore(options.store, { maxKeys: options.maxKeys });
  // One line per interval with a count, never a stack per decision (an outage wrote 34 MB in 30 s).
  const storeFailures = new FailureLog(
    (f) => log.warn({ store: opened.description, failures: f.failures, error: f.error, sinceMs: f.sinceMs }, 'store failed; rules fall back (open) or refuse with 503 (closed)'),
    options.storeErrorLogIntervalMs ?? 10_000,
  );
  const sluice = await Sluice.open({
    policy,
    store: opened.store,
    clock: options.clock,
    maxKeys: options.maxKeys,
    onStoreError: storeFailures.note,
  });

  const metrics = new ServerMetrics(() => sluice, { defaultMetrics: options.processMetrics });
  const dashboard = options.dashboard === false ? undefined : new DashboardRecorder(() => sluice, { clock: options.clock }).start();
  metrics.observer = dashboard;
  const ctx: ServerContext = {
    sluice,
    // Only a store the service made itself and that declares it answers synchronously
    // (memory, SQLite) takes the synchronous path; any store handed in (possibly wrapped or
    // instrumented) takes the async path, where store failures fall back per rule.
    sync: opened.owned && opened.store.synchronous === true,
    log,
    metrics,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // A store that commits in groups (SQLite) commits the turn's decisions right before their answers go out.
    writes: new WriteBatch(
      (e) => log.error({ err: e }, 'writing a decision answer failed'),
      opened.store.flush && (() => opened.store.flush!()),
    ),
    closing: false,
    policySource: file ?? policy.source,
    dashboard,
  };
  const auth = new AdminAuth(tokens);
  // Envoy decides through the same engine: its breaker, fallback, store counters and decision metrics are the policy's.
  const envoy =
    options.envoyConfig === undefined
      ? undefined
      : new EnvoyRateLimiter(loadEnvoyConfig(options.envoyConfig), sluice, undefined, { requestLimits: options.envoyRequestLimits ?? false, onStoreError: options.envoyOnStoreError, onDecision: (d, ms) => metrics.decision(d, ms) });
  const reloader = new PolicyReloader({ sluice, log, metrics, file, envoy: envoy && { source: options.envoyConfig!, limiter: envoy } });
  if (text !== undefined) reloader.markLoaded(text);

  const cleanup: (() => unknown)[] = [];
  let closed: Promise<void> | undefined;
  let app: FastifyInstance | undefined;
  let server: Server | undefined;
  let closer: GracefulCloser | undefined;
  let apart: Server[] = []; // the admin API's and Envoy's own servers, when they have their own ports
  let grpc: EnvoyGrpcServer | undefined;
  const graceMs = options.shutdownTimeoutMs ?? DEFAULT_GRACE_MS;
  // Connections drain for most of the grace period; the rest is for closing the store and exiting.
  const drainMs = Math.max(0, graceMs - Math.min(1000, graceMs / 5));
  let stopExporters: (() => Promise<void>) | undefined;

  const close = (): Promise<void> =>
    (closed ??= (async () => {
      ctx.closing = true;
      for (const c of cleanup.splice(0)) c();
      dashboard?.stop();
      await stopExporters?.();
      reloader.close();
      // HTTP, gRPC and the admin/Envoy ports of their own drain side by side, each cut at the drain deadline (see trackConnections).
      await Promise.all([closer?.close(drainMs), grpc?.close(drainMs), ...apart.map((http) => closeSoon(http, drainMs))]);
      if (app) await app.close();
      storeFailures.flush();
      if (opened.owned) await sluice.close();
      log.info('sluice stopped');
    })());

  try {
    const built = await buildServer(ctx, auth, reloader, envoy, { admin: options.adminPort !== undefined, envoy: envoy !== undefined && options.envoyPort !== undefined });
    app = built.app;
    server = built.server;
    closer = trackConnections(server);
    apart = [built.adminServer, built.envoyServer].filter((x): x is Server => x !== undefined);
    // Loopback unless told otherwise: exposing the service is a decision, not a default.
    const host = options.host ?? '127.0.0.1';
    const envoyHost = options.envoyHost ?? host;
    await listen(built.server, options.port ?? 8080, host);
    const port = (built.server.address() as AddressInfo).port;
    const adminServer = built.adminServer;
    if (adminServer) await listen(adminServer, options.adminPort!, host);
    const adminPort = adminServer ? (adminServer.address() as AddressInfo).port : undefined;
    if (built.envoyServer) await listen(built.envoyServer, options.envoyPort!, envoyHost);
    else if (options.envoyPort !== undefined) log.warn({ envoyPort: options.envoyPort }, 'an Envoy port was given without an envoy config (--envoy-config); it is not opened');
    const envoyPort = built.envoyServer ? (built.envoyServer.address() as AddressInfo).port : undefined;

    if (options.grpcPort !== undefined) {
      if (envoy) {
        grpc = await startEnvoyGrpc({ port: options.grpcPort, host: envoyHost, limiter: envoy, onError: envoyFailureLogger(log, 'gRPC') });
      } else {
        log.warn({ grpcPort: options.grpcPort }, 'a gRPC port was given without an envoy config (--envoy-config); gRPC is off');
      }
    }

    if (dashboard && options.exporters) stopExporters = await startExporters(dashboard, sluice, options.exporters, log);
    if (options.watch ?? file !== undefined) reloader.watch();
    if (options.handleSignals ?? true) {
      const onHup = () => reloader.reload('signal', 'SIGHUP');
      const onStop = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'shutting down: finishing in-flight requests');
        // Whatever happens, the process is gone by the end of the grace period.
        const force = setTimeout(() => process.exit(1), graceMs);
        force.unref();
        close().then(
          () => process.exit(0),
          (e) => {
            log.error({ err: e }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGHUP', onHup);
      process.once('SIGTERM', onStop);
      process.once('SIGINT', onStop);
      cleanup.push(() => {
        process.off('SIGHUP', onHup);
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
      });
    }

    const grpcPort = grpc?.port;
    log.info(
      {
        policy: ctx.policySource,
        rules: policy.rules.length,
        store: opened.description,
        port,
        host,
        ...(grpcPort !== undefined ? { grpcPort } : {}),
        ...(envoy ? { envoyConfig: options.envoyConfig, envoyDomains: envoy.config.domains.size } : {}),
        admin: auth.enabled ? { admin: Boolean(tokens.adminToken), read: Boolean(tokens.readToken), ...(adminServer ? { port: adminPort } : {}) } : 'disabled (no token)',
        watch: options.watch ?? file !== undefined,
      },
      'sluice serving',
    );

    const urlOf = (h: string, p: number) => `http://${h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h}:${p}`;
    const url = urlOf(host, port);
    return {
      port,
      grpcPort,
      url,
      ...(adminPort !== undefined ? { adminPort, adminUrl: urlOf(host, adminPort) } : {}),
      ...(envoyPort !== undefined ? { envoyPort, envoyUrl: urlOf(envoyHost, envoyPort) } : {}),
      sluice,
      app,
      log,
      reload: () => reloader.reload('api', 'handle'),
      close,
    };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}

function isCompiled(p: PolicySource | CompiledPolicy): p is CompiledPolicy {
  return typeof p === 'object' && p !== null && 'ruleByName' in p && p.ruleByName instanceof Map;
}

/** Stops a side server (admin, Envoy): idle connections now, busy ones when done, all after the timeout. */
function closeSoon(http: Server, timeoutMs: number): Promise<void> {
  const timer = setTimeout(() => http.closeAllConnections(), timeoutMs);
  const idle = setInterval(() => http.closeIdleConnections(), 100);
  timer.unref();
  idle.unref();
  return new Promise<void>((done) => {
    http.close(() => done());
    http.closeIdleConnections();
  }).finally(() => {
    clearTimeout(timer);
    clearInterval(idle);
  });
}
