import { policyItem } from '../headers/ratelimit-headers.js';
import { formatDuration, parseDuration, parseLimit, parseSize, UnitError, type ParsedLimit } from './units.js';
import { formatPath, PolicyError, type PolicyIssue } from './errors.js';
import { compileMatch, exactValues } from './match.js';
import { closest } from './suggest.js';
import type { PolicyDocument, RuleDocument, MatchValue, ResponseDocument } from './schema.js';
import type { CompiledCap, CompiledPolicy, CompiledRoute, CompiledRule, CostSpec, Outcome, OverrideSpec, RuleResponse } from './compiled.js';

export type Locate = (path: readonly (string | number)[], keyOfLast?: boolean) => { line?: number; column?: number };

/**
 * Turns a structurally valid policy document into the engine's compiled form, or
 * throws a PolicyError listing every semantic problem with its place. Nothing is
 * returned unless the whole policy is sound: a bad file never half-loads.
 */
export interface CompileOptions {
  file?: string;
  locate?: Locate;
  /** Rules already reported broken by the schema: not compiled, and no further errors about them. */
  setAside?: ReadonlySet<number>;
  /** Every rule name in the file, broken rules included: an override naming one is not "unknown". */
  ruleNames?: ReadonlySet<string>;
}

export function compilePolicy(doc: PolicyDocument, opts: CompileOptions = {}): CompiledPolicy {
  const issues: PolicyIssue[] = [];
  const fail = (path: (string | number)[], message: string) =>
    issues.push({ path: formatPath(path), message, file: opts.file, ...(opts.locate?.(path) ?? {}) });

  const groups = new Map<string, ReadonlySet<string>>();
  for (const [name, members] of Object.entries(doc.groups ?? {})) groups.set(name, new Set(members));

  const defaults = doc.defaults ?? {};
  const rules: CompiledRule[] = [];
  const ruleByName = new Map<string, CompiledRule>();
  const seenAt = new Map<string, number>();

  doc.rules.forEach((r, i) => {
    if (opts.setAside?.has(i)) return;
    const at = (...p: (string | number)[]) => ['rules', i, ...p];
    if (seenAt.has(r.name)) fail(at('name'), `duplicate rule name "${r.name}" (first used by rules[${seenAt.get(r.name)}])`);
    else seenAt.set(r.name, i);
    checkGroups(r.match, groups, at('match'), fail);
    const rule = compileRule(r, i, defaults, groups, at, fail);
    if (rule) {
      rules.push(rule);
      if (!ruleByName.has(rule.name)) ruleByName.set(rule.name, rule);
    }
  });

  const overrides: OverrideSpec[] = [];
  (doc.overrides ?? []).forEach((o, i) => {
    const at = (...p: (string | number)[]) => ['overrides', i, ...p];
    const rule = ruleByName.get(o.rule);
    if (!rule) {
      // A rule of that name is in the file but broken: its own errors say so; the override is not also "unknown".
      if (seenAt.has(o.rule) || opts.ruleNames?.has(o.rule)) return;
      const hint = closest(o.rule, ruleByName.keys());
      fail(at('rule'), `unknown rule "${o.rule}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      return;
    }
    const given = Object.keys(o.key).sort().join(',');
    const wanted = [...rule.keyAttrs].sort().join(',');
    if (given !== wanted) fail(at('key'), `rule "${rule.name}" is keyed by [${rule.keyAttrs.join(', ')}], so the override's key must name exactly those attributes (got [${Object.keys(o.key).join(', ')}])`);
    const limit = tryUnits(() => readLimit(o.limit), at('limit'), fail);
    let expiresAt: number | undefined;
    if (o.expires !== undefined) {
      expiresAt = Date.parse(o.expires);
      if (Number.isNaN(expiresAt)) fail(at('expires'), `"${o.expires}" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)`);
    }
    // Stryker disable next-line ConditionalExpression: a key that is not the rule's was reported just above, so the policy is refused whether or not the override is kept
    if (limit && given === wanted) {
      const key = Object.fromEntries(Object.entries(o.key).map(([k, v]) => [k, String(v)]));
      overrides.push({ rule: o.rule, key, limit: limit.limit, windowMs: limit.windowMs, expiresAt, reason: o.reason });
    }
  });

  const attributes = new Map<string, Record<string, number>>();
  for (const [attr, entities] of Object.entries(doc.attributes ?? {})) {
    for (const [value, attrs] of Object.entries(entities)) attributes.set(`${attr}:${value}`, attrs);
  }

  const caps: CompiledCap[] = [];
  (doc.caps ?? []).forEach((c, i) => {
    const at = (...p: (string | number)[]) => ['caps', i, ...p];
    checkGroups(c.match, groups, at('match'), fail);
    const maxBodyBytes = c.max_body === undefined ? undefined : tryUnits(() => parseSize(c.max_body!), at('max_body'), fail);
    const maxFileBytes = c.max_file === undefined ? undefined : tryUnits(() => parseSize(c.max_file!), at('max_file'), fail);
    if (c.max_body === undefined && c.max_items === undefined && c.max_rows === undefined && c.max_file === undefined) {
      fail(at(), `cap "${c.name}" sets no limit: give max_body, max_items, max_rows or max_file`);
    }
    caps.push({
      name: c.name,
      matches: compileMatch(c.match, groups, []),
      maxBodyBytes: maxBodyBytes ?? undefined,
      maxItems: c.max_items?.map((m) => ({ path: m.path, segments: pathSegments(m.path), max: m.max })),
      maxRows: c.max_rows,
      maxFileBytes: maxFileBytes ?? undefined,
      response: c.response,
    });
  });

  const routes: CompiledRoute[] = (doc.routes ?? []).map((r) => ({
    methods: r.method === undefined ? undefined : new Set((Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toUpperCase())),
    path: r.path,
    api: r.api,
    set: r.set,
  }));

  if (issues.length) throw new PolicyError(issues);
  return {
    rules,
    ruleByName,
    groups,
    overrides,
    attributes,
    caps,
    routes,
    legacyHeaders: defaults.legacy_headers ?? false,
    subject: doc.subject,
    source: opts.file ?? '<inline>',
  };
}

type Fail = (path: (string | number)[], message: string) => void;

function compileRule(
  r: RuleDocument,
  index: number,
  defaults: NonNullable<PolicyDocument['defaults']>,
  groups: ReadonlyMap<string, ReadonlySet<string>>,
  at: (...p: (string | number)[]) => (string | number)[],
  fail: Fail,
): CompiledRule | undefined {
  let broken = false;
  const bad: Fail = (p, m) => {
    broken = true;
    fail(p, m);
  };

  const parsed = tryUnits(() => readLimit(r.limit), at('limit'), bad);
  const block = typeof r.block === 'string' ? { for: r.block, key: undefined } : r.block;
  // undefined when the duration did not parse (already reported): not reported again as zero below.
  const blockParsed = block === undefined ? 0 : tryUnits(() => parseDuration(block.for), at('block', ...(typeof r.block === 'object' ? ['for'] : [])), bad);
  const blockMs = blockParsed ?? 0;
  const keyAttrs = r.key === undefined ? [] : Array.isArray(r.key) ? r.key : [r.key];
  const blockKeyAttrs = block?.key === undefined ? keyAttrs : Array.isArray(block.key) ? block.key : [block.key];
  for (const a of blockKeyAttrs) if (!keyAttrs.includes(a)) bad(at('block', 'key'), `the block's key must be part of the rule's key [${keyAttrs.join(', ')}] ("${a}" is not)`);
  if (new Set(keyAttrs).size !== keyAttrs.length) bad(at('key'), 'an attribute appears twice in the key');

  let cost: CostSpec;
  if (r.cost === 'bytes' || (r.cost === undefined && parsed?.bytes)) cost = { kind: 'bytes' };
  else if (typeof r.cost === 'object') cost = { kind: 'attribute', name: r.cost.attribute };
  else cost = { kind: 'fixed', units: r.cost ?? 1 };

  const algorithm = (r.algorithm ?? (cost.kind === 'bytes' ? 'rolling-quota' : defaults.algorithm ?? defaultAlgorithm(parsed))) as CompiledRule['algorithm'];
  const count = r.count ?? 'request';
  const phase: CompiledRule['phase'] = count !== 'request' || cost.kind === 'bytes' ? 'outcome' : 'request';

  if (r.shadow && r.block !== undefined) bad(at('block'), 'a shadow rule only observes, so it cannot block; remove block or shadow');
  if (r.burst !== undefined && algorithm !== 'gcra') bad(at('burst'), `burst applies to the gcra algorithm only (this rule uses ${algorithm})`);
  if (r.buckets !== undefined && algorithm !== 'rolling-quota') bad(at('buckets'), `buckets applies to the rolling-quota algorithm only (this rule uses ${algorithm})`);
  if (algorithm === 'concurrency' && phase === 'outcome') bad(at('algorithm'), 'a concurrency rule counts requests in flight; it cannot count outcomes or bytes');
  // Stryker disable next-line ConditionalExpression,StringLiteral: parseDuration never returns a negative number; a guard should that change
  if (blockMs < 0) bad(at('block'), 'block must be a positive duration');
  if (r.block !== undefined && blockParsed === 0) bad(at('block'), 'block must be longer than zero');
  if (parsed && !Number.isInteger(parsed.limit) && cost.kind !== 'bytes') bad(at('limit'), 'a request limit must be a whole number');
  if (r.charge_rejected && phase === 'outcome') bad(at('charge_rejected'), 'charge_rejected applies to rules that count requests');

  let scale: CompiledRule['scale'];
  if (r.scale !== undefined) {
    const s = typeof r.scale === 'string' ? { attribute: r.scale } : r.scale;
    const of = s.of ?? keyAttrs[0];
    if (of === undefined) bad(at('scale'), 'scale multiplies the limit by an attribute of the key, so the rule needs a key');
    else if (!keyAttrs.includes(of)) bad(at('scale', 'of'), `scale.of must be one of the rule's key attributes [${keyAttrs.join(', ')}]`);
    else scale = { attribute: s.attribute, of, default: 'default' in s && s.default !== undefined ? s.default : 1 };
  }

  const counts = compileCount(count);
  if (broken || !parsed) return undefined;

  const action = r.action ?? 'reject';
  const onMissingKey = r.on_missing_key ?? defaults.on_missing_key;
  const matchesIgnoringKey = compileMatch(r.match, groups, []);
  const params = { limit: parsed.limit, windowMs: parsed.windowMs, burst: r.burst, buckets: r.buckets };
  const quotaUnit = cost.kind === 'bytes' ? 'content-bytes' : algorithm === 'concurrency' ? 'concurrent-requests' : undefined;
  return {
    index,
    name: r.name,
    description: r.description,
    matches: onMissingKey === 'shared' ? matchesIgnoringKey : compileMatch(r.match, groups, keyAttrs),
    matchesIgnoringKey,
    onMissingKey,
    exactMatch: exactValues(r.match, groups),
    keyAttrs,
    algorithm,
    params,
    cost,
    phase,
    counts,
    blockMs,
    blockKeyAttrs,
    action,
    response: compileResponse(r, parsed, action, defaults.response),
    shadow: r.shadow ?? false,
    scale,
    onStoreError: r.on_store_error ?? defaults.on_store_error ?? 'open',
    chargeRejected: r.charge_rejected ?? false,
    quotaUnit,
    policyItem: policyItem(r.name, parsed.limit, parsed.windowMs, quotaUnit),
  };
}

/**
 * Request limits default to the exact rolling window (sliding log) up to EXACT_LOG_MAX per
 * window, since its state and step cost grow with the limit; above that, to the O(1)
 * sliding window counter. (Byte limits default to the rolling quota.)
 */
export const EXACT_LOG_MAX = 1000;

function defaultAlgorithm(limit: ParsedLimit | undefined): CompiledRule['algorithm'] {
  return limit && limit.limit > EXACT_LOG_MAX ? 'sliding-window' : 'sliding-log';
}

function compileResponse(r: RuleDocument, limit: ParsedLimit, action: 'reject' | 'drop', defaults?: ResponseDocument): RuleResponse {
  const amount = limit.bytes ? `${limit.limit} bytes` : `${limit.limit}`;
  const fallback =
    action === 'drop'
      ? { status: 202, message: `Accepted but not processed: limit of ${amount} per ${formatDuration(limit.windowMs)} reached.`, code: 'dropped' }
      : { status: 429, message: `Too many requests: limit of ${amount} per ${formatDuration(limit.windowMs)} reached.`, code: 'rate_limited' };
  return {
    status: r.response?.status ?? (action === 'drop' ? fallback.status : defaults?.status ?? fallback.status),
    message: r.response?.message ?? (action === 'drop' ? fallback.message : defaults?.message ?? fallback.message),
    code: r.response?.code ?? (action === 'drop' ? fallback.code : defaults?.code ?? fallback.code),
  };
}

function compileCount(count: NonNullable<RuleDocument['count']>): (o: Outcome) => boolean {
  if (count === 'request') return () => true;
  if (count === 'failure') return (o) => (o.success !== undefined ? !o.success : o.status !== undefined && o.status >= 400);
  if (count === 'success') return (o) => (o.success !== undefined ? o.success : o.status !== undefined && o.status < 400);
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const c of count) {
    if (typeof c === 'number') exact.add(c);
    else if (c.endsWith('xx')) classes.add(Number(c[0]));
    else exact.add(Number(c));
  }
  return (o) => o.status !== undefined && (exact.has(o.status) || classes.has(Math.floor(o.status / 100)));
}

/** "$.contacts[*].phones" → ["contacts", "*", "phones"] */
function pathSegments(path: string): string[] {
  return [...path.matchAll(/\.([A-Za-z0-9_-]+)|\[\*\]/g)].map((m) => m[1] ?? '*');
}

function readLimit(limit: RuleDocument['limit']): ParsedLimit {
  if (typeof limit === 'string') return parseLimit(limit);
  return parseLimit(`${limit.count}/${limit.window}`);
}

function tryUnits<T>(f: () => T, path: (string | number)[], fail: Fail): T | undefined {
  try {
    return f();
  } catch (e) {
    // Stryker disable next-line ConditionalExpression: the unit parsers throw nothing but UnitError
    if (e instanceof UnitError) {
      fail(path, e.message);
      return undefined;
    }
    throw e;
  }
}

function checkGroups(match: Record<string, MatchValue> | undefined, groups: ReadonlyMap<string, unknown>, path: (string | number)[], fail: Fail): void {
  for (const [attr, value] of Object.entries(match ?? {})) {
    if (typeof value !== 'object' || Array.isArray(value) || !('group' in value)) continue;
    const names = Array.isArray(value.group) ? value.group : [value.group];
    names.forEach((n, j) => {
      if (groups.has(n)) return;
      const hint = closest(n, groups.keys());
      const where = Array.isArray(value.group) ? [...path, attr, 'group', j] : [...path, attr, 'group'];
      fail(where, `unknown group "${n}"${hint ? ` (did you mean "${hint}"?)` : groups.size ? ` (groups: ${[...groups.keys()].join(', ')})` : ' (the policy defines no groups)'}`);
    });
  }
}
