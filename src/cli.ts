#!/usr/bin/env node
import { readFileSync, statSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeFailure } from './cli/failure.js';
import { Sluice } from './engine/sluice.js';
import { loadPolicy } from './policy/load.js';
import { policyEnvironment } from './policy/environment.js';
import { isEnvoyConfigFile } from './cli/envoy-detect.js';
import { parseDuration } from './policy/units.js';
import type { CompiledPolicy, Subject } from './policy/compiled.js';
import type { Logger } from 'pino';
import { dashboardServeOptions, otlpEndpointFromEnv, type DashboardFlags } from './dashboard/cli-flags.js';
import { parseHostPort } from './dashboard/exporters/targets.js';

// --max-keys (serve, gateway): the functions are at the end.
const MAX_KEYS_FLAG = '--max-keys <n>';
const MAX_KEYS_HELP = 'most keys the memory store and the outage fallback hold; past it the least-used is evicted, leaving a conservative trace (default 1,000,000; fallback 100,000) [SLUICE_MAX_KEYS]';

const program = new Command();
program
  .name('sluice')
  .description('Rate limits, quotas and lockouts for multi-tenant APIs.')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError('(sluice <command> --help lists the options)')
  // Usage errors exit 2 (commander has printed the one line); --help and --version exit 0.
  .exitOverride();

program
  .command('validate')
  .description('Check a policy file; print every error with file:line, or a summary.')
  .argument('<policy>', 'policy file (YAML or JSON)')
  .action(async (file: string) => {
    if (isEnvoyConfigFile(file)) {
      const { loadEnvoyConfig } = await import('./envoy/config.js');
      const config = loadEnvoyConfig(file);
      const domains = [...config.domains.keys()].join(', ');
      console.log(`ok: an Envoy ratelimit config (domain${config.domains.size === 1 ? '' : 's'} ${domains}); serve it with: sluice serve --envoy-config ${file} --grpc-port 8081`);
      return;
    }
    const policy = loadOrExit(file);
    const apis = [...policy.groups.values()].reduce((n, g) => n + g.size, 0);
    console.log(`ok: ${policy.rules.length} rules, ${policy.groups.size} groups (${apis} names), ${policy.caps.length} caps, ${policy.overrides.length} overrides`);
    // The file is sound; what it needs from the environment is said too (the gateway and middleware refuse to start without it).
    for (const issue of policyEnvironment(policy)) console.error(`warning: ${file}: ${issue.path}: ${issue.message}`);
  });

program
  .command('check')
  .description('Decide requests against a policy on an in-memory store; prints each decision as a JSON line.')
  .argument('<policy>', 'policy file (YAML or JSON)')
  .argument('[attributes...]', 'subject attributes as name=value, e.g. account=acme api="Queue Size"')
  .option('--cost <n>', 'cost of each request', positiveNumber)
  .option('--repeat <n>', 'how many requests to decide', positiveInteger, 1)
  .option('--every <duration>', 'simulated time between requests, e.g. 500ms or 1s (no real waiting)')
  .option('--record <outcome>', 'after each admitted request, record an outcome such as status=401 or bytes=1048576')
  .action(async (file: string, attrs: string[], opts: { cost?: number; repeat: number; every?: string; record?: string }) => {
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) fail(`${file} is a directory; check takes one policy file (YAML or JSON)`);
    // Not listed as a policy's errors (unknown fields "domain", "descriptors"): said for what it is.
    if (isEnvoyConfigFile(file)) fail(`${file} is an Envoy ratelimit config; check decides Sluice policies. Serve it with: sluice serve --envoy-config ${file} (then POST /json, or gRPC with --grpc-port)`);
    const policy = loadOrExit(file);
    const subject = parsePairs(attrs, 'attribute') as Subject;
    const outcome = opts.record ? numbers(parsePairs(opts.record.split(','), 'outcome')) : undefined;
    let step = 0;
    if (opts.every) {
      try {
        step = parseDuration(opts.every);
      } catch (e) {
        fail(`--every: ${(e as Error).message}`);
      }
    }
    let now = Date.now();
    const sluice = await Sluice.open({ policy, clock: () => now });
    for (let i = 0; i < opts.repeat; i++) {
      const d = await sluice.check(subject, { cost: opts.cost });
      if (outcome && d.allowed) await sluice.record(subject, outcome);
      console.log(JSON.stringify({ n: i + 1, ...(step ? { atMs: i * step } : {}), ...d.toJSON(), headers: d.headers }));
      now += step;
    }
    await sluice.close();
  });

program
  .command('serve')
  .description('Run the Sluice service: decision API, admin API, metrics, health and Envoy’s rate-limit protocol.')
  .option('--config <file>', 'policy file, hot-reloaded on change and SIGHUP [SLUICE_CONFIG]', process.env.SLUICE_CONFIG)
  .addOption(new Option('--port <n>', 'HTTP port').env('SLUICE_PORT').argParser(port).default(8080))
  .option('--host <addr>', 'interface to listen on; 0.0.0.0 or :: exposes the service [SLUICE_HOST]', process.env.SLUICE_HOST ?? '127.0.0.1')
  .addOption(new Option('--admin-port <n>', 'serve the admin API on its own port instead of next to the decision API').env('SLUICE_ADMIN_PORT').argParser(port))
  .addOption(new Option('--envoy-port <n>', 'serve Envoy’s POST /json on its own port instead of next to the decision API').env('SLUICE_ENVOY_PORT').argParser(port))
  .option('--envoy-host <addr>', 'interface for Envoy’s gRPC and /json ports (default: --host) [SLUICE_ENVOY_HOST]', process.env.SLUICE_ENVOY_HOST)
  .option('--envoy-request-limits', 'honour a descriptor’s request-level `limit` (only where Envoy alone reaches the port) [SLUICE_ENVOY_REQUEST_LIMITS=1]', process.env.SLUICE_ENVOY_REQUEST_LIMITS === '1' || process.env.SLUICE_ENVOY_REQUEST_LIMITS === 'true')
  .addOption(new Option('--envoy-on-store-error <mode>', 'for Envoy limits without rate_limit.on_store_error, while the store is down: open (decide locally) | closed (OVER_LIMIT) | error (UNAVAILABLE / 503: envoy’s failure_mode_deny decides)').choices(['open', 'closed', 'error']).env('SLUICE_ENVOY_ON_STORE_ERROR').default('error'))
  .addOption(new Option('--grpc-port <n>', 'Envoy rate-limit gRPC port').env('SLUICE_GRPC_PORT').argParser(port))
  .option('--envoy-config <path>', 'envoy ratelimit YAML config: a file or a directory [SLUICE_ENVOY_CONFIG]', process.env.SLUICE_ENVOY_CONFIG)
  .option('--store <spec>', 'memory | sqlite:<file> | redis://… | rediss://… | redis+sentinel://… | redis+cluster://… [SLUICE_STORE]', process.env.SLUICE_STORE ?? 'sqlite:./data/sluice.db')
  .option('--admin-token <token>', 'bearer token for the admin API [SLUICE_ADMIN_TOKEN]', process.env.SLUICE_ADMIN_TOKEN)
  .option('--read-token <token>', 'read-only bearer token for the admin API [SLUICE_READ_TOKEN]', process.env.SLUICE_READ_TOKEN)
  .option('--admin-token-file <file>', 'a file holding the admin token, kept out of the process list [SLUICE_ADMIN_TOKEN_FILE]', process.env.SLUICE_ADMIN_TOKEN_FILE)
  .option('--read-token-file <file>', 'a file holding the read-only token [SLUICE_READ_TOKEN_FILE]', process.env.SLUICE_READ_TOKEN_FILE)
  .addOption(new Option('--log-level <level>', 'how much the service logs').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).env('SLUICE_LOG_LEVEL').default('info'))
  .option('--grace-period <duration>', 'on SIGTERM, finish in-flight requests and exit within this [SLUICE_GRACE_PERIOD]', process.env.SLUICE_GRACE_PERIOD ?? '10s')
  .option(MAX_KEYS_FLAG, MAX_KEYS_HELP, maxKeys, envMaxKeys())
  // ---- dashboard flags (src/dashboard) ----
  .option('--no-dashboard', 'turn off the live dashboard at /dashboard and its bookkeeping [SLUICE_DASHBOARD=off]')
  .option('--otlp-endpoint <url>', 'export metrics over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318 [OTEL_EXPORTER_OTLP_ENDPOINT]', otlpEndpointFromEnv())
  .option('--statsd <host:port>', "send StatsD counters with envoyproxy/ratelimit's names [SLUICE_STATSD]", hostPort, process.env.SLUICE_STATSD ? hostPort(process.env.SLUICE_STATSD) : undefined)
  .option('--statsd-domain <name>', 'the <domain> in ratelimit.service.rate_limit.<domain>.<rule>.* (default sluice)')
  .action(async (opts: { config?: string; port: number; host: string; adminPort?: number; envoyPort?: number; envoyHost?: string; envoyRequestLimits: boolean; envoyOnStoreError: 'open' | 'closed' | 'error'; grpcPort?: number; envoyConfig?: string; store: string; adminToken?: string; readToken?: string; adminTokenFile?: string; readTokenFile?: string; logLevel: string; gracePeriod: string; maxKeys?: number } & DashboardFlags) => {
    if (!opts.config && !opts.envoyConfig) fail('serve needs --config <policy> (or SLUICE_CONFIG), or --envoy-config');
    if (opts.config && isEnvoyConfigFile(opts.config)) {
      if (opts.envoyConfig) fail(`--config ${opts.config} is an Envoy ratelimit config; give a Sluice policy to --config, or pass it as --envoy-config alone`);
      console.error(`sluice: ${opts.config} is an Envoy ratelimit config (domain/descriptors): serving it as --envoy-config`);
      opts = { ...opts, envoyConfig: opts.config, config: undefined };
    }
    const { serve } = await import('./server/serve.js');
    const { gracePeriod, ...rest } = opts;
    const shutdownTimeoutMs = gracePeriodMs(gracePeriod);
    // serve() refuses a broken policy or token setup before opening any port.
    await serve({ ...rest, config: opts.config, shutdownTimeoutMs, ...dashboardServeOptions(opts) }).catch((e: unknown) => (e instanceof Error && e.name === 'TokenConfigError' ? fail(e.message) : exitOnPolicyError(e)));
  });

program
  .command('gateway')
  .description('Run a reverse proxy that enforces the policy in front of an existing API.')
  .requiredOption('--config <file>', 'policy file, with an optional `subject:` section; reloaded on SIGHUP [SLUICE_CONFIG]', process.env.SLUICE_CONFIG)
  .requiredOption('--upstream <url>', 'the API behind the gateway, e.g. http://127.0.0.1:3000 [SLUICE_UPSTREAM]', process.env.SLUICE_UPSTREAM)
  .addOption(new Option('--port <n>', 'listening port').env('SLUICE_PORT').argParser(port).default(8080))
  .option('--host <addr>', 'listening address; 0.0.0.0 or :: exposes the gateway [SLUICE_HOST]', process.env.SLUICE_HOST ?? '127.0.0.1')
  .option('--store <spec>', 'memory | sqlite:<file> | redis://… | redis+cluster://… [SLUICE_STORE]', process.env.SLUICE_STORE ?? 'memory')
  .option('--upstream-timeout <duration>', 'how long the upstream may take before 504', '30s')
  .option('--grace-period <duration>', 'on SIGTERM, finish in-flight requests and exit within this [SLUICE_GRACE_PERIOD]', process.env.SLUICE_GRACE_PERIOD ?? '10s')
  .option(MAX_KEYS_FLAG, MAX_KEYS_HELP, maxKeys, envMaxKeys())
  // ---- the gateway's admin API (src/gateway/admin.ts): on with a token or --admin-port ----
  .option('--admin-token <token>', 'serve the admin API (under /v1/admin, never forwarded) with this bearer token [SLUICE_ADMIN_TOKEN]', process.env.SLUICE_ADMIN_TOKEN)
  .option('--read-token <token>', 'read-only bearer token for the admin API [SLUICE_READ_TOKEN]', process.env.SLUICE_READ_TOKEN)
  .option('--admin-token-file <file>', 'a file holding the admin token, kept out of the process list [SLUICE_ADMIN_TOKEN_FILE]', process.env.SLUICE_ADMIN_TOKEN_FILE)
  .option('--read-token-file <file>', 'a file holding the read-only token [SLUICE_READ_TOKEN_FILE]', process.env.SLUICE_READ_TOKEN_FILE)
  .addOption(new Option('--admin-port <n>', 'serve the admin API on its own port instead of under /v1/admin on the gateway port').env('SLUICE_ADMIN_PORT').argParser(port))
  .action(async (opts: { config: string; upstream: string; port: number; host: string; store: string; upstreamTimeout: string; gracePeriod: string; maxKeys?: number } & GatewayAdminFlags) => {
    const graceMs = gracePeriodMs(opts.gracePeriod);
    let upstreamTimeoutMs = 30_000;
    try {
      upstreamTimeoutMs = parseDuration(opts.upstreamTimeout);
    } catch (e) {
      fail(`--upstream-timeout: ${(e as Error).message}`);
    }
    // 0 would turn the upstream's timeouts off (undici reads 0 as none), not make them instant.
    if (!(upstreamTimeoutMs > 0)) fail(`--upstream-timeout must be longer than 0 (got "${opts.upstreamTimeout}")`);
    if (!/^https?:\/\/./i.test(opts.upstream) || !URL.canParse(opts.upstream)) fail(`--upstream (or SLUICE_UPSTREAM) must be an http:// or https:// URL such as http://127.0.0.1:3000 (got "${opts.upstream}")`);
    const [{ startGateway, checkGatewayPolicy }, { openStore }, { pino }] = await Promise.all([import('./gateway/index.js'), import('./stores/open.js'), import('pino')]);
    const store = await openStore(opts.store, { maxKeys: opts.maxKeys });
    const log = pino({ base: { service: 'sluice-gateway' } }, pino.destination(2));
    const admin = await gatewayAdmin(opts, log, checkGatewayPolicy);
    const gw = await startGateway({ policy: opts.config, upstream: opts.upstream, port: opts.port, host: opts.host, store, upstreamTimeoutMs, maxKeys: opts.maxKeys, admin }).catch((e: unknown) =>
      e instanceof Error && e.name === 'TokenConfigError' ? fail(e.message) : exitOnPolicyError(e),
    );
    await reloadOnHangup(gw.sluice, opts.config, log, checkGatewayPolicy); // before the startup line, so a SIGHUP after it never ends the process
    const adminAt = admin ? { admin: gw.adminUrl ? `${gw.adminUrl}/v1/admin` : `${gw.url}/v1/admin` } : {};
    console.error(JSON.stringify({ msg: 'sluice gateway listening', url: gw.url, upstream: opts.upstream, store: store.name, policy: opts.config, ...adminAt }));
    // Connections drain for most of the grace period; the rest is for the store; the process is gone by its end.
    const stop = async () => {
      setTimeout(() => process.exit(1), graceMs).unref();
      await gw.close(Math.max(0, graceMs - Math.min(1000, graceMs / 5)));
      await store.close();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program
  .command('pace')
  .description('Drain a JSON-lines file of jobs at a rate per key (sent with fetch, or printed), with live progress.')
  .argument('<jobs>', 'JSON-lines file ({"key": "channel-1", "url": "http://…", "method": "POST", "body": {…}} per line), or - for stdin')
  .requiredOption('--rate <rate>', 'rate per key, e.g. 80/s or 3/1m (the starting rate when adaptive)')
  .option('--concurrency <n>', 'jobs in flight at once', positiveInteger, 8)
  .option('--key <field>', 'field holding each job’s pacing key (dotted paths allowed)', 'key')
  .option('--store <spec>', 'where the rate is kept, shared with other pacers: memory | redis://… [SLUICE_STORE]', process.env.SLUICE_STORE ?? 'memory')
  .option('--url <base>', 'base URL for relative or missing job urls')
  .option('--adaptive <min..max>', 'adapt each key’s rate to the receiver between two rates, e.g. 1/s..50/s (AIMD)')
  .option('--retries <n>', 'retries for transport errors, timeouts, 408/429/5xx', wholeNumber, 2)
  .option('--unsent <file>', 'write jobs that were not sent here (JSON lines)')
  .action(async (file: string, opts: { rate: string; concurrency: number; key: string; store: string; url?: string; adaptive?: string; retries: number; unsent?: string }) => {
    const { paceCommand, parseAdaptiveRange } = await import('./pacer/command.js');
    try {
      const adaptive = opts.adaptive === undefined ? undefined : parseAdaptiveRange(opts.adaptive);
      const result = await paceCommand({ file, rate: opts.rate, concurrency: opts.concurrency, key: opts.key, store: opts.store, url: opts.url, adaptive, retries: opts.retries, unsentFile: opts.unsent });
      process.exitCode = result.exitCode;
    } catch (e) {
      fail((e as Error).message);
    }
  });

program
  .command('simulate')
  .description('Replay an access log through a policy (or two) at the log’s own timestamps: who would have been refused, with plots.')
  .option('--config <file>', 'policy file')
  .option('--log <file>', 'access log: CLF, Combined, JSON lines or Envoy JSON; gzip recognised; - for stdin')
  .option('--routes <file>', 'routes: and subject: sections for a policy that has none, e.g. examples/simulate/routes.yaml')
  .option('--compare <file>', 'a second policy decided over the same lines: what it newly refuses and admits')
  .option('--format <format>', 'auto | clf | combined | json | envoy', 'auto')
  .option('--field <name=path>', 'JSON field mapping, repeatable: time=ts, url=req.uri, header.x-tenant-id=tenant', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--from <time>', 'only lines at or after this time (ISO 8601 or epoch seconds)')
  .option('--to <time>', 'only lines before this time')
  .option('--speed <n>', 'replay at n times the log’s own pace (default: as fast as possible)')
  .option('--reorder <duration>', 'how far out of order lines may be and still be put back in order', '5s')
  .option('--top <n>', 'keys shown per rule', '10')
  .option('--json', 'print the result as JSON on stdout')
  .option('--report <file>', 'write a self-contained HTML report with plots')
  .option('--generate <file>', 'write a sample Combined-format log for the seed policies (- for stdout) instead of simulating')
  .option('--lines <n>', 'lines to generate', '100000')
  .option('--seed <n>', 'seed of the generated log', '1')
  .action(async (opts: import('./simulate/command.js').SimulateFlags) => {
    const { simulateCommand } = await import('./simulate/command.js');
    process.exitCode = await simulateCommand(opts);
  });

await program.parseAsync().catch(exitOnFailure);

function loadOrExit(file: string) {
  try {
    return loadPolicy(file);
  } catch (e) {
    return exitOnPolicyError(e);
  }
}

/** A broken policy is listed issue by issue (file:line:column: field: message) and exits 1. */
function exitOnPolicyError(e: unknown): never {
  return exitOnFailure(e);
}

/**
 * Every failure ends here as lines without a stack: a broken policy exits 1; usage and
 * configuration errors (a port in use, an unknown store, an unset secret, an unreadable file) exit 2.
 */
function exitOnFailure(e: unknown): never {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  const { lines, exitCode } = describeFailure(e);
  for (const line of lines) console.error(line);
  process.exit(exitCode);
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function parsePairs(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (i <= 0) fail(`${what} "${item}" must be written name=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function numbers(pairs: Record<string, string>): { status?: number; bytes?: number; success?: boolean } {
  const out: { status?: number; bytes?: number; success?: boolean } = {};
  for (const [k, v] of Object.entries(pairs)) {
    if (k === 'success') out.success = v === 'true';
    else if (k === 'status' || k === 'bytes') {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) fail(`--record ${k} must be a number ≥ 0 (got "${v}")`);
      out[k] = n;
    } else fail(`--record knows status, bytes and success (got "${k}")`);
  }
  return out;
}

/** --grace-period (or SLUICE_GRACE_PERIOD): a duration such as 10s or 500ms, at most an hour. */
function gracePeriodMs(v: string): number {
  let ms = NaN;
  try {
    ms = parseDuration(v);
  } catch {
    // said below
  }
  if (!(ms >= 0 && ms <= 3_600_000)) fail(`--grace-period (or SLUICE_GRACE_PERIOD) must be a duration from 0s to 1h, such as 10s (got "${v}")`);
  return ms;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0–65535)`);
  return n;
}

/** A StatsD target, host:port (the dashboard's exporter flag). */
function hostPort(v: string): string {
  try {
    parseHostPort(v, '--statsd');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}

function wholeNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a whole number from 0 to 100');
  return n;
}

// ---- the gateway's admin API flags ----

interface GatewayAdminFlags {
  adminToken?: string;
  readToken?: string;
  adminTokenFile?: string;
  readTokenFile?: string;
  adminPort?: number;
}

/**
 * The gateway serves the service's admin API (src/server/admin-api.ts) when given a token (or a
 * token file) or an admin port; admin changes are logged as JSON lines on stderr, with who made them.
 */
async function gatewayAdmin(f: GatewayAdminFlags & { config: string }, log: Logger, acceptPolicy: (p: CompiledPolicy) => void) {
  const { adminToken, readToken, adminTokenFile, readTokenFile, adminPort } = f;
  if (!adminToken && !readToken && !adminTokenFile && !readTokenFile && adminPort === undefined) return undefined;
  const { createAdminApi } = await import('./server/admin-api.js');
  const tokens = { adminToken, readToken, adminTokenFile, readTokenFile };
  return { port: adminPort, api: (sluice: Sluice) => createAdminApi({ ...tokens, sluice, log, policyFile: f.config, acceptPolicy }) };
}

/**
 * SIGHUP reloads the gateway's policy file as it does `sluice serve`'s (src/server/reload.ts):
 * the whole file or nothing, a broken one refused in one log line while the old policy keeps
 * serving, and rules that keep their name keep their counts (a reload never lifts a limit mid-window).
 */
async function reloadOnHangup(sluice: Sluice, file: string, log: Logger, accept: (p: CompiledPolicy) => void) {
  const { PolicyReloader } = await import('./server/reload.js');
  const reloader = new PolicyReloader({ sluice, log, file, accept });
  process.on('SIGHUP', () => {
    try {
      reloader.reload('signal', 'SIGHUP');
    } catch (e) {
      log.error({ who: 'SIGHUP', trigger: 'signal', source: file }, `policy reload failed; the previous policy keeps serving: ${(e as Error).message}`);
    }
  });
}

// ---- --max-keys (serve, gateway) ----


function maxKeys(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 1e9) throw new InvalidArgumentError(`must be a whole number from 1 to 1,000,000,000 (got "${v}")`);
  return n;
}

function envMaxKeys(): number | undefined {
  const v = process.env.SLUICE_MAX_KEYS;
  if (v === undefined || v === '') return undefined;
  try {
    return maxKeys(v);
  } catch (e) {
    fail(`SLUICE_MAX_KEYS ${(e as Error).message}`);
  }
}

function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 1_000_000) throw new InvalidArgumentError('must be a whole number from 1 to 1,000,000');
  return n;
}

function fail(message: string): never {
  console.error(`sluice: ${message}`);
  process.exit(2);
}
