import { writeFileSync } from 'node:fs';
import { loadPolicy } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { formatIssue, PolicyError } from '../policy/errors.js';
import { parseDuration } from '../policy/units.js';
import { FIELD_NAMES, type FieldMap, type FieldOverrides } from './formats/json-lines.js';
import { generateLog } from './generate.js';
import type { LogFormat } from './log-entry.js';
import { ProgressBar } from './progress.js';
import { renderReport } from './report/html.js';
import { loadWithRoutes } from './routes-overlay.js';
import { simulate } from './simulate.js';
import { LogInputError } from './input.js';
import { formatSummary } from './summary.js';

/** The `sluice simulate` options as commander hands them over (all strings). */
export interface SimulateFlags {
  config?: string;
  log?: string;
  routes?: string;
  compare?: string;
  format: string;
  field: string[];
  from?: string;
  to?: string;
  speed?: string;
  reorder: string;
  top: string;
  json?: boolean;
  report?: string;
  generate?: string;
  lines: string;
  seed: string;
}

const FORMATS = ['auto', 'clf', 'combined', 'json', 'envoy'];

/** Bad flags: one line on stderr, exit 2. */
class UsageError extends Error {}

/** Runs `sluice simulate`; returns the exit code. Errors are printed as one line, never a stack. */
export async function simulateCommand(flags: SimulateFlags): Promise<number> {
  try {
    return await run(flags);
  } catch (e) {
    if (e instanceof PolicyError) {
      for (const issue of e.issues) console.error(formatIssue(issue));
      console.error(`${e.issues.length} error${e.issues.length === 1 ? '' : 's'}`);
      return 1;
    }
    if (e instanceof UsageError || e instanceof LogInputError) {
      console.error(`sluice: ${e.message}`);
      return 2;
    }
    console.error(`sluice: simulate failed: ${(e as Error).message}`);
    return 1;
  }
}

async function run(flags: SimulateFlags): Promise<number> {
  if (flags.generate !== undefined) {
    const lines = wholeNumber(flags.lines, '--lines', 1, 1e9);
    const seed = wholeNumber(flags.seed, '--seed', 0, 2 ** 32 - 1);
    const g = await generateLog(flags.generate, { lines, seed });
    if (flags.generate !== '-') {
      console.error(`wrote ${lines.toLocaleString('en-US')} Combined-format lines to ${flags.generate} (${new Date(g.fromMs).toISOString()} → ${new Date(g.toMs).toISOString()}), seed ${seed}. Try:`);
      console.error(`  sluice simulate --config examples/contact-center-ai.yaml --routes examples/simulate/routes.yaml --log ${flags.generate} --report report.html`);
    }
    return 0;
  }
  if (!flags.config) throw new UsageError('simulate needs --config <policy> (or --generate <file> to write a sample log)');
  if (!flags.log) throw new UsageError('simulate needs --log <file> (an access log; gzip is recognised; - for stdin)');
  if (!FORMATS.includes(flags.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')} (got "${flags.format}")`);
  const policy = open(flags.config, flags.routes);
  const compare = flags.compare ? open(flags.compare, flags.routes) : undefined;
  const bar = flags.json ? undefined : new ProgressBar();
  const result = await simulate({
    policy,
    compare,
    log: flags.log,
    format: flags.format as 'auto' | LogFormat,
    fields: fieldMap(flags.field),
    fromMs: flags.from === undefined ? undefined : time(flags.from, '--from'),
    toMs: flags.to === undefined ? undefined : time(flags.to, '--to'),
    speed: flags.speed === undefined ? undefined : positive(flags.speed, '--speed'),
    reorderMs: duration(flags.reorder, '--reorder'),
    topKeys: wholeNumber(flags.top, '--top', 1, 1000),
    onProgress: bar ? (p) => bar.update(p.lines, p.input) : undefined,
  });
  bar?.done();
  if (flags.report) {
    writeFileSync(flags.report, renderReport(result));
    if (!flags.json) console.error(`report written to ${flags.report}`);
  }
  if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(formatSummary(result));
  return 0;
}

function open(file: string, routes: string | undefined): CompiledPolicy {
  if (!routes) return loadPolicy(file);
  return loadWithRoutes(file, routes);
}

/** --field time=ts, --field url=req.uri, --field header.x-tenant-id=tenant_id */
export function fieldMap(items: readonly string[]): FieldOverrides {
  const out: FieldOverrides = { fields: {}, headers: {} };
  for (const item of items) {
    const i = item.indexOf('=');
    const name = i > 0 ? item.slice(0, i) : '';
    const path = item.slice(i + 1);
    if (i <= 0 || path === '') throw new UsageError(`--field "${item}" must be written name=path, e.g. time=ts or header.x-tenant-id=tenant`);
    if (name.startsWith('header.')) out.headers[name.slice(7)] = path;
    else if ((FIELD_NAMES as string[]).includes(name)) out.fields[name as keyof FieldMap] = path;
    else throw new UsageError(`--field ${name}: known fields are ${FIELD_NAMES.join(', ')}, or header.<name>`);
  }
  return out;
}

function time(v: string, flag: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} "${v}" is not a time (write ISO 8601, e.g. 2026-11-23T09:00:00Z, or epoch seconds)`);
  return ms;
}

function duration(v: string, flag: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number above 0 (got "${v}")`);
  return n;
}

function wholeNumber(v: string, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max.toLocaleString('en-US')} (got "${v}")`);
  return n;
}
