import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import type { AlgorithmName } from '../algorithms/index.js';
import { compileSchema, formatJsonPath, type CompiledSchema } from '../http/json-schema.js';
import { PolicyError, type PolicyIssue } from '../policy/errors.js';
import { locator } from '../policy/load.js';
import { closest } from '../policy/suggest.js';
import { UnitError, formatDuration, parseDuration } from '../policy/units.js';
import { envoyFileSchema, withoutNulls } from './config-schema.js';

/**
 * envoyproxy/ratelimit's YAML configuration, accepted as is:
 *
 *   domain: messaging
 *   descriptors:
 *     - key: message_type
 *       value: marketing          # optional; "foo*" matches values starting with "foo"
 *       descriptors: [...]        # nested descriptors
 *       rate_limit: { unit: day, requests_per_unit: 5, name: n, replaces: [{ name: m }], unlimited: false }
 *       shadow_mode: false
 *       detailed_metric: false
 *       value_to_metric: false
 *
 * Sluice reads four more fields in `rate_limit`: `window` (any duration, such as 3s,
 * instead of `unit`), `algorithm` (fixed-window by default, as envoy counts),
 * `block` (a penalty: once the limit trips, the key is refused for that long) and
 * `on_store_error` (open | closed, as a policy rule: what to answer while the store is down).
 */

/** The units of envoy's RateLimitResponse.RateLimit.Unit (and envoy.type.v3.RateLimitUnit). */
export type EnvoyUnit = 'UNKNOWN' | 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';

/** Unit lengths as envoyproxy/ratelimit divides time (a month is 30 days, a year 365). */
export const UNIT_MS: Readonly<Record<Exclude<EnvoyUnit, 'UNKNOWN'>, number>> = {
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
  WEEK: 7 * 86_400_000,
  MONTH: 30 * 86_400_000,
  YEAR: 365 * 86_400_000,
};

/** Proto enum numbers, for requests that send the unit as a number. */
export const UNIT_NUMBERS: readonly EnvoyUnit[] = ['UNKNOWN', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR', 'WEEK'];

export type EnvoyAlgorithm = Extract<AlgorithmName, 'fixed-window' | 'sliding-window' | 'sliding-log' | 'gcra'>;
export const ENVOY_ALGORITHMS: readonly EnvoyAlgorithm[] = ['fixed-window', 'sliding-window', 'sliding-log', 'gcra'];

export interface EnvoyLimit {
  /** Where the limit sits in its domain, as envoy names it in stats: "message_type_marketing.to_number". */
  path: string;
  /** rate_limit.name (used by `replaces`, and as the RateLimit header's policy name). */
  name?: string;
  /** Names of the limits this one replaces within a request. */
  replaces: readonly string[];
  unlimited: boolean;
  requestsPerUnit: number;
  /** The unit reported in current_limit; UNKNOWN when a `window` is no whole unit. */
  unit: EnvoyUnit;
  windowMs: number;
  algorithm: EnvoyAlgorithm;
  /** Block penalty in ms (0: none). */
  blockMs: number;
  /** rate_limit.on_store_error, as a policy rule's: while the store is down, decide locally ('open') or refuse ('closed'). */
  onStoreError?: 'open' | 'closed';
  shadow: boolean;
  detailedMetric: boolean;
  valueToMetric: boolean;
  file?: string;
  line?: number;
}

/** One level of the descriptor tree. */
export interface EnvoyNode {
  /** Entries with key and exact value, by `key\0value`. */
  readonly exact: Map<string, EnvoyNode>;
  /** Entries whose value ends with "*", in file order, by key. */
  readonly wildcards: Map<string, { prefix: string; node: EnvoyNode }[]>;
  /** Entries with a key and no value: the default for any value. */
  readonly byKey: Map<string, EnvoyNode>;
  limit?: EnvoyLimit;
}

export interface EnvoyDomain {
  readonly name: string;
  readonly root: EnvoyNode;
  /** The files that define the domain (several when domains are merged). */
  readonly files: string[];
}

export interface EnvoyConfig {
  readonly domains: ReadonlyMap<string, EnvoyDomain>;
}

export interface LoadEnvoyConfigOptions {
  /** Allow several files to add to one domain (envoy's MERGE_DOMAIN_CONFIG). Default false. */
  mergeDomains?: boolean;
  /** The file name to report for YAML text. */
  file?: string;
}

/** A file path, a directory (every *.yaml / *.yml file in it), YAML text, or a list of those. */
export type EnvoyConfigSource = string | readonly string[] | readonly { file: string; text: string }[];

/**
 * Loads envoy ratelimit configuration from a file, a directory of files, or YAML text.
 * Every problem in every file is reported at once, each with file, line, column and
 * field path; on any problem a PolicyError is thrown and nothing is returned.
 */
export function loadEnvoyConfig(source: EnvoyConfigSource, opts: LoadEnvoyConfigOptions = {}): EnvoyConfig {
  const files: { file?: string; text: string }[] = [];
  const sources = typeof source === 'string' ? [source] : source;
  for (const s of sources) {
    if (typeof s === 'object') files.push(s);
    else files.push(...readSource(s, opts.file));
  }
  const domains = new Map<string, EnvoyDomain>();
  const issues: PolicyIssue[] = [];
  for (const f of files) compileFile(f.text, f.file, domains, issues, opts.mergeDomains ?? false);
  if (issues.length) throw new PolicyError(issues);
  return { domains };
}

function readSource(s: string, file: string | undefined): { file?: string; text: string }[] {
  const looksLikePath = !s.includes('\n') && !/^\s*domain\s*:/.test(s);
  if (!looksLikePath) return [{ file, text: s }];
  const path = s.trim();
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new PolicyError([{ path: '', message: `cannot read envoy config: ${(e as Error).message}`, file: path }]);
  }
  const paths = isDir
    ? readdirSync(path)
        .filter((n) => /\.ya?ml$/i.test(n) && !n.startsWith('.'))
        .sort()
        .map((n) => join(path, n))
    : [path];
  if (isDir && paths.length === 0) throw new PolicyError([{ path: '', message: 'no *.yaml or *.yml files in this directory', file: path }]);
  return paths.map((p) => {
    try {
      return { file: p, text: readFileSync(p, 'utf8') };
    } catch (e) {
      throw new PolicyError([{ path: '', message: `cannot read envoy config: ${(e as Error).message}`, file: p }]);
    }
  });
}

type Path = (string | number)[];

let fileSchema: CompiledSchema | undefined;

class FileCompiler {
  constructor(
    readonly file: string | undefined,
    readonly lines: LineCounter,
    readonly issues: PolicyIssue[],
  ) {}

  issue(node: YamlNode | Pair | null | undefined, path: Path, message: string): void {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    const pos = range ? this.lines.linePos(range[0]) : undefined;
    this.issues.push({ path: formatJsonPath(path), message, file: this.file, ...(pos ? { line: pos.line, column: pos.col } : {}) });
  }

  // The readers below take what the schema (./config-schema.ts) let through and pass over the
  // rest in silence: the schema has reported it, with its path and line.

  /** The map's pairs by key (fields the schema does not know are left out). */
  fields(map: YAMLMap, path: Path): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of map.items) {
      const k = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof k !== 'string') {
        this.issue(pair.key as YamlNode, path, 'keys are field names (strings)');
        continue;
      }
      out.set(k, pair);
    }
    return out;
  }

  string(pair: Pair | undefined): string | undefined {
    const v = pair?.value;
    if (!isScalar(v) || v.value === null || typeof v.value === 'object') return undefined;
    // Keep numbers as written ("007", "1.10"): descriptor values are strings to envoy.
    return typeof v.value === 'string' ? v.value : (v.source ?? String(v.value));
  }

  bool(pair: Pair | undefined): boolean {
    const v = pair?.value;
    return isScalar(v) && v.value === true;
  }

  seq(pair: Pair | undefined): YamlNode[] {
    const v = pair?.value;
    return isSeq(v) ? (v.items as YamlNode[]) : [];
  }

  /** The schema's issues for one document, each placed on its line (an unknown field on its key). */
  schemaIssues(doc: Document): void {
    fileSchema ??= compileSchema(envoyFileSchema, { allErrors: true });
    const found = fileSchema.issues(withoutNulls(doc.toJS()));
    if (!found) return;
    const locate = locator(doc, this.lines);
    for (const i of found) this.issues.push({ path: formatJsonPath(i.path), message: i.message, file: this.file, ...locate(i.path, i.message.startsWith('unknown field')) });
  }
}

function compileFile(text: string, file: string | undefined, domains: Map<string, EnvoyDomain>, issues: PolicyIssue[], merge: boolean): void {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const c = new FileCompiler(file, lines, issues);
  if (!Array.isArray(docs)) {
    issues.push({ path: '', message: 'the file is empty; an envoy config has a `domain:` and `descriptors:`', file, line: 1 });
    return;
  }
  let bad = false;
  for (const doc of docs) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      issues.push({ path: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), file, line: pos?.line, column: pos?.col });
      bad = true;
    }
  }
  if (bad) return;
  for (const doc of docs) {
    const root = doc.contents;
    if (root === null) continue;
    if (!isMap(root)) {
      c.issue(root, [], 'an envoy config is a mapping with `domain:` and `descriptors:`');
      continue;
    }
    c.schemaIssues(doc);
    const f = c.fields(root, []);
    const domainPair = f.get('domain');
    const name = c.string(domainPair);
    if (name === undefined || name === '') {
      c.issue(domainPair?.value as YamlNode ?? root, ['domain'], 'config file cannot have an empty domain');
      continue;
    }
    let domain = domains.get(name);
    if (domain) {
      if (!merge) {
        c.issue(domainPair?.value as YamlNode, ['domain'], `duplicate domain "${name}" (also in ${domain.files.join(', ') || 'an earlier document'})`);
        continue;
      }
      if (file) domain.files.push(file);
    } else {
      domain = { name, root: newNode(), files: file ? [file] : [] };
      domains.set(name, domain);
    }
    loadDescriptors(c, domain.root, c.seq(f.get('descriptors')), ['descriptors'], '');
  }
}

function newNode(): EnvoyNode {
  return { exact: new Map(), wildcards: new Map(), byKey: new Map() };
}

function loadDescriptors(c: FileCompiler, parent: EnvoyNode, items: YamlNode[], path: Path, parentKey: string): void {
  items.forEach((item, i) => {
    const at: Path = [...path, i];
    if (!isMap(item)) return;
    const f = c.fields(item, at);
    const key = c.string(f.get('key'));
    if (key === undefined || key === '') {
      // a key of the wrong type was reported by the schema
      if (!f.get('key') || key === '' || isScalar(f.get('key')!.value)) c.issue(f.get('key')?.value as YamlNode ?? item, [...at, 'key'], 'descriptor has an empty key');
      return;
    }
    const value = c.string(f.get('value'));
    const finalKey = value ? `${key}_${value}` : key;
    const nodePath = parentKey ? `${parentKey}.${finalKey}` : finalKey;

    const node = newNode();
    const taken = value ? parent.exact.has(`${key}\0${value}`) : parent.byKey.has(key);
    if (taken) {
      c.issue(item, at, `duplicate descriptor composite key "${nodePath}"`);
      return;
    }
    if (!value) parent.byKey.set(key, node);
    else if (value.endsWith('*')) {
      const list = parent.wildcards.get(key) ?? [];
      list.push({ prefix: value.slice(0, -1), node });
      parent.wildcards.set(key, list);
      parent.exact.set(`${key}\0${value}`, node);
    } else parent.exact.set(`${key}\0${value}`, node);

    const shadow = c.bool(f.get('shadow_mode'));
    const detailedMetric = c.bool(f.get('detailed_metric'));
    const valueToMetric = c.bool(f.get('value_to_metric'));
    const rl = f.get('rate_limit');
    if (rl && !(rl.value === null || (isScalar(rl.value) && rl.value.value === null))) {
      node.limit = compileLimit(c, rl, [...at, 'rate_limit'], { path: nodePath, shadow, detailedMetric, valueToMetric });
    }
    loadDescriptors(c, node, c.seq(f.get('descriptors')), [...at, 'descriptors'], nodePath);
  });
}

function compileLimit(
  c: FileCompiler,
  pair: Pair,
  at: Path,
  base: { path: string; shadow: boolean; detailedMetric: boolean; valueToMetric: boolean },
): EnvoyLimit | undefined {
  const map = pair.value;
  if (!isMap(map)) return undefined;
  const before = c.issues.length;
  const f = c.fields(map, at);
  // The schema's issues inside this rate_limit: the limit is not made (the file fails anyway).
  const prefix = formatJsonPath(at);
  const broken = c.issues.some((i) => i.path === prefix || i.path.startsWith(`${prefix}.`) || i.path.startsWith(`${prefix}[`));
  const unlimited = c.bool(f.get('unlimited'));
  const name = c.string(f.get('name')) || undefined;

  const unitText = c.string(f.get('unit'));
  let unit: EnvoyUnit = 'UNKNOWN';
  if (unitText !== undefined) {
    const u = unitText.toUpperCase() as EnvoyUnit;
    if (u in UNIT_MS) unit = u;
    else c.issue(f.get('unit')?.value as YamlNode, [...at, 'unit'], `invalid rate limit unit "${unitText}" (use second, minute, hour, day, week, month or year)`);
  }

  let windowMs: number | undefined;
  const windowText = c.string(f.get('window'));
  if (windowText !== undefined) {
    try {
      windowMs = parseDuration(windowText);
      if (!(windowMs > 0)) throw new UnitError('the window must be longer than zero');
    } catch (e) {
      c.issue(f.get('window')?.value as YamlNode, [...at, 'window'], (e as Error).message);
    }
  }

  let blockMs = 0;
  const blockText = c.string(f.get('block'));
  if (blockText !== undefined) {
    try {
      blockMs = parseDuration(blockText);
    } catch (e) {
      c.issue(f.get('block')?.value as YamlNode, [...at, 'block'], (e as Error).message);
    }
  }

  let algorithm: EnvoyAlgorithm = 'fixed-window';
  const algText = c.string(f.get('algorithm'));
  if (algText !== undefined) {
    if ((ENVOY_ALGORITHMS as readonly string[]).includes(algText)) algorithm = algText as EnvoyAlgorithm;
    else {
      const hint = closest(algText, ENVOY_ALGORITHMS);
      c.issue(f.get('algorithm')?.value as YamlNode, [...at, 'algorithm'], `unknown algorithm "${algText}"${hint ? ` (did you mean "${hint}"?)` : ''} (use ${ENVOY_ALGORITHMS.join(', ')})`);
    }
  }

  // As a policy rule's on_store_error; unset: the limiter's default (report the failure, envoy's failure_mode_deny decides).
  const onStoreErrorText = c.string(f.get('on_store_error'));
  if (onStoreErrorText !== undefined && onStoreErrorText !== 'open' && onStoreErrorText !== 'closed') {
    c.issue(f.get('on_store_error')?.value as YamlNode, [...at, 'on_store_error'], `on_store_error is open (decide locally while the store is down) or closed (refuse); got "${onStoreErrorText}"`);
  }

  let requestsPerUnit = 0;
  const rpu = f.get('requests_per_unit');
  if (rpu && isScalar(rpu.value) && typeof rpu.value.value === 'number') requestsPerUnit = rpu.value.value; // its range: the schema's

  if (unlimited) {
    if (unitText !== undefined || windowText !== undefined) c.issue(f.get('unit')?.key as YamlNode ?? f.get('window')?.key as YamlNode, [...at, unitText !== undefined ? 'unit' : 'window'], 'should not specify rate limit unit when unlimited');
  } else {
    if (unitText === undefined && windowText === undefined) c.issue(map, [...at, 'unit'], 'a rate limit needs a unit (second, minute, hour, day) or a window such as 3s, or `unlimited: true`');
    if (!rpu) c.issue(map, [...at, 'requests_per_unit'], 'requests_per_unit is required (write 0 to refuse every request)');
  }

  const replaces: string[] = [];
  c.seq(f.get('replaces')).forEach((r, i) => {
    const rat: Path = [...at, 'replaces', i];
    if (!isMap(r)) return;
    const rf = c.fields(r, rat);
    const n = c.string(rf.get('name'));
    if (!n) c.issue(rf.get('name')?.value as YamlNode ?? r, [...rat, 'name'], 'should not have an empty replaces entry');
    else if (n === name) c.issue(rf.get('name')?.value as YamlNode, [...rat, 'name'], 'replaces should not contain the name of the same descriptor');
    else replaces.push(n);
  });

  if (broken || c.issues.length > before) return undefined;

  if (windowMs !== undefined) unit = unitOfWindow(windowMs);
  const line = c.lines.linePos((map as { range?: [number, number, number] }).range?.[0] ?? 0).line;
  return {
    path: base.path,
    ...(name ? { name } : {}),
    replaces,
    unlimited,
    requestsPerUnit,
    unit,
    windowMs: windowMs ?? (unit === 'UNKNOWN' ? 0 : UNIT_MS[unit]),
    algorithm,
    blockMs,
    ...(onStoreErrorText === 'open' || onStoreErrorText === 'closed' ? { onStoreError: onStoreErrorText } : {}),
    shadow: base.shadow,
    detailedMetric: base.detailedMetric,
    valueToMetric: base.valueToMetric,
    ...(c.file ? { file: c.file } : {}),
    line,
  };
}

/** The envoy unit a window is exactly one of, or UNKNOWN (3s, 90m). */
export function unitOfWindow(ms: number): EnvoyUnit {
  for (const [u, len] of Object.entries(UNIT_MS)) if (len === ms) return u as EnvoyUnit;
  return 'UNKNOWN';
}

/** "10/3s" for limits whose window is no envoy unit. */
export function describeLimit(l: Pick<EnvoyLimit, 'requestsPerUnit' | 'windowMs'>): string {
  return `${l.requestsPerUnit}/${formatDuration(l.windowMs)}`;
}
