#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { Sluice } from './engine/sluice.js';
import { loadPolicy } from './policy/load.js';
import { formatIssue, PolicyError } from './policy/errors.js';
import { parseDuration } from './policy/units.js';
import type { Subject } from './policy/compiled.js';

const program = new Command();
program.name('sluice').description('Rate limits, quotas and lockouts for multi-tenant APIs.').showHelpAfterError();

program
  .command('validate')
  .description('Check a policy file; print every error with file:line, or a summary.')
  .argument('<policy>', 'policy file (YAML or JSON)')
  .action((file: string) => {
    const policy = loadOrExit(file);
    const apis = [...policy.groups.values()].reduce((n, g) => n + g.size, 0);
    console.log(`ok: ${policy.rules.length} rules, ${policy.groups.size} groups (${apis} names), ${policy.caps.length} caps, ${policy.overrides.length} overrides`);
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
  .option('--port <n>', 'HTTP port [SLUICE_PORT]', port, port(process.env.SLUICE_PORT ?? '8080'))
  .option('--host <addr>', 'interface to listen on; 0.0.0.0 or :: exposes the service [SLUICE_HOST]', process.env.SLUICE_HOST ?? '127.0.0.1')
  .option('--admin-port <n>', 'serve the admin API on its own port instead of next to the decision API [SLUICE_ADMIN_PORT]', port, process.env.SLUICE_ADMIN_PORT ? port(process.env.SLUICE_ADMIN_PORT) : undefined)
  .option('--envoy-port <n>', 'serve Envoy’s POST /json on its own port instead of next to the decision API [SLUICE_ENVOY_PORT]', port, process.env.SLUICE_ENVOY_PORT ? port(process.env.SLUICE_ENVOY_PORT) : undefined)
  .option('--envoy-host <addr>', 'interface for Envoy’s gRPC and /json ports (default: --host) [SLUICE_ENVOY_HOST]', process.env.SLUICE_ENVOY_HOST)
  .option('--envoy-request-limits', 'honour a descriptor’s request-level `limit` (only where Envoy alone reaches the port) [SLUICE_ENVOY_REQUEST_LIMITS=1]', process.env.SLUICE_ENVOY_REQUEST_LIMITS === '1' || process.env.SLUICE_ENVOY_REQUEST_LIMITS === 'true')
  .option('--grpc-port <n>', 'Envoy rate-limit gRPC port [SLUICE_GRPC_PORT]', port, process.env.SLUICE_GRPC_PORT ? port(process.env.SLUICE_GRPC_PORT) : undefined)
  .option('--envoy-config <path>', 'envoy ratelimit YAML config: a file or a directory [SLUICE_ENVOY_CONFIG]', process.env.SLUICE_ENVOY_CONFIG)
  .option('--store <spec>', 'memory | sqlite:<file> | redis://… | rediss://… | redis+sentinel://… | redis+cluster://… [SLUICE_STORE]', process.env.SLUICE_STORE ?? 'sqlite:./data/sluice.db')
  .option('--admin-token <token>', 'bearer token for the admin API [SLUICE_ADMIN_TOKEN]', process.env.SLUICE_ADMIN_TOKEN)
  .option('--read-token <token>', 'read-only bearer token for the admin API [SLUICE_READ_TOKEN]', process.env.SLUICE_READ_TOKEN)
  .option('--admin-token-file <file>', 'a file holding the admin token, kept out of the process list [SLUICE_ADMIN_TOKEN_FILE]', process.env.SLUICE_ADMIN_TOKEN_FILE)
  .option('--read-token-file <file>', 'a file holding the read-only token [SLUICE_READ_TOKEN_FILE]', process.env.SLUICE_READ_TOKEN_FILE)
  .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent [SLUICE_LOG_LEVEL]', process.env.SLUICE_LOG_LEVEL ?? 'info')
  .action(async (opts: { config?: string; port: number; host: string; adminPort?: number; envoyPort?: number; envoyHost?: string; envoyRequestLimits: boolean; grpcPort?: number; envoyConfig?: string; store: string; adminToken?: string; readToken?: string; adminTokenFile?: string; readTokenFile?: string; logLevel: string }) => {
    if (!opts.config && !opts.envoyConfig) fail('serve needs --config <policy> (or SLUICE_CONFIG), or --envoy-config');
    const { serve } = await import('./server/serve.js');
    // serve() refuses a broken policy or token setup before opening any port.
    await serve({ ...opts, config: opts.config }).catch((e: unknown) => (e instanceof Error && e.name === 'TokenConfigError' ? fail(e.message) : exitOnPolicyError(e)));
  });

program
  .command('gateway')
  .description('Run a reverse proxy that enforces the policy in front of an existing API.')
  .requiredOption('--config <file>', 'policy file, with an optional `subject:` section [SLUICE_CONFIG]', process.env.SLUICE_CONFIG)
  .requiredOption('--upstream <url>', 'the API behind the gateway, e.g. http://127.0.0.1:3000 [SLUICE_UPSTREAM]', process.env.SLUICE_UPSTREAM)
  .option('--port <n>', 'listening port [SLUICE_PORT]', port, port(process.env.SLUICE_PORT ?? '8080'))
  .option('--host <addr>', 'listening address; 0.0.0.0 or :: exposes the gateway [SLUICE_HOST]', process.env.SLUICE_HOST ?? '127.0.0.1')
  .option('--store <spec>', 'memory | sqlite:<file> | redis://… | redis+cluster://… [SLUICE_STORE]', process.env.SLUICE_STORE ?? 'memory')
  .option('--upstream-timeout <duration>', 'how long the upstream may take before 504', '30s')
  .action(async (opts: { config: string; upstream: string; port: number; host: string; store: string; upstreamTimeout: string }) => {
    let upstreamTimeoutMs = 30_000;
    try {
      upstreamTimeoutMs = parseDuration(opts.upstreamTimeout);
      new URL(opts.upstream);
    } catch (e) {
      fail(`${(e as Error).message}`);
    }
    const [{ startGateway }, { openStore }] = await Promise.all([import('./gateway/index.js'), import('./stores/open.js')]);
    const store = await openStore(opts.store);
    const gw = await startGateway({ policy: opts.config, upstream: opts.upstream, port: opts.port, host: opts.host, store, upstreamTimeoutMs }).catch(exitOnPolicyError);
    console.error(JSON.stringify({ msg: 'sluice gateway listening', url: gw.url, upstream: opts.upstream, store: store.name, policy: opts.config }));
    const stop = async () => {
      await gw.close();
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

await program.parseAsync();

function loadOrExit(file: string) {
  try {
    return loadPolicy(file);
  } catch (e) {
    return exitOnPolicyError(e);
  }
}

/** A broken policy is listed issue by issue (file:line:column: field: message), and the process exits 1. */
function exitOnPolicyError(e: unknown): never {
  if (!(e instanceof PolicyError)) throw e;
  for (const issue of e.issues) console.error(formatIssue(issue));
  console.error(`${e.issues.length} error${e.issues.length === 1 ? '' : 's'}`);
  process.exit(1);
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

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0–65535)`);
  return n;
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

function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 1_000_000) throw new InvalidArgumentError('must be a whole number from 1 to 1,000,000');
  return n;
}

function fail(message: string): never {
  console.error(`sluice: ${message}`);
  process.exit(2);
}
