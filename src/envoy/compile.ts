import { outsideRule } from '../engine/outside-rules.js';
import type { CompiledRule } from '../policy/compiled.js';
import { escapeValue } from '../stores/key-codec.js';
import type { TxOp } from '../stores/store.js';
import { txOp } from '../stores/tx-op.js';
import { UNIT_MS, type EnvoyLimit, type EnvoyUnit } from './config.js';
import type { RateLimitEntry } from './types.js';

/**
 * Envoy descriptors as engine rules. Each configured limit (and each request-level override)
 * becomes a CompiledRule in the "envoy:" namespace (../engine/outside-rules.ts), and each
 * request descriptor that reaches one becomes that rule's op on a counter of its own:
 *
 *   rule  envoy:<domain>:<limit path>        (what sluice_decisions_total labels)
 *   key   envoy:<domain>|<key>=<value>|…     (the counter; a policy rule's keys start "<rule>|")
 *
 * A policy rule name has no ":", so neither a rule nor a counter is ever shared with one.
 */

/** While the store is down: decide locally ('open'), refuse ('closed'), or answer the failure (envoy's failure_mode_deny decides). */
export type EnvoyStoreErrorMode = 'open' | 'closed' | 'error';

export interface EnvoyRuleOptions {
  /** Under the global shadow mode every rule is a shadow one: it reports, the request goes through. */
  globalShadowMode: boolean;
  /** For limits without their own rate_limit.on_store_error. */
  onStoreError: EnvoyStoreErrorMode;
}

/** A configured limit (or a request's override) as the engine sees it, and what it does while the store is down. */
export interface EnvoyRule {
  readonly limit: EnvoyLimit;
  readonly rule: CompiledRule;
  readonly onStoreError: EnvoyStoreErrorMode;
}

/** Compiles limits to rules once per configuration: a reload brings new limits, hence new rules; counters are named by descriptor, so they carry on. */
export class EnvoyRules {
  private readonly compiled = new WeakMap<EnvoyLimit, EnvoyRule>();

  constructor(private readonly opts: EnvoyRuleOptions) {}

  of(domain: string, limit: EnvoyLimit): EnvoyRule {
    let r = this.compiled.get(limit);
    if (r === undefined) this.compiled.set(limit, (r = this.compile(domain, limit, limit.path)));
    return r;
  }

  /** A request-level override: its rule is labelled by the limit it asks for (a descriptor's values would make the label unbounded). */
  ofOverride(domain: string, limit: EnvoyLimit): EnvoyRule {
    return this.compile(domain, limit, `@${limit.requestsPerUnit}/${limit.unit}`);
  }

  private compile(domain: string, limit: EnvoyLimit, label: string): EnvoyRule {
    const onStoreError = limit.onStoreError ?? this.opts.onStoreError;
    const rule = outsideRule({
      name: `envoy:${domain}:${label}`,
      algorithm: limit.algorithm,
      params: { limit: limit.requestsPerUnit, windowMs: limit.windowMs },
      shadow: limit.shadow || this.opts.globalShadowMode,
      // 'error' refuses in the engine (nothing charged locally); the limiter then answers the failure.
      onStoreError: onStoreError === 'open' ? 'open' : 'closed',
      blockMs: limit.blockMs,
    });
    return { limit, rule, onStoreError };
  }
}

/**
 * The op of one descriptor under its limit. `globalShadow`: charged even when the request is
 * refused (the request it observes goes through); a shadow limit never refuses the transaction.
 */
export function descriptorOp(domain: string, entries: readonly RateLimitEntry[], limit: EnvoyLimit, cost: number, override: boolean, globalShadow: boolean): TxOp {
  const ns = envoyNamespace(domain);
  const id = descriptorId(entries, override ? limit : undefined, limit.algorithm);
  const key = `${ns}|${id}`;
  return txOp({
    key,
    ns,
    id,
    tag: `${ns}|${esc(entries[entries.length - 1].value)}`,
    algorithm: limit.algorithm,
    params: { limit: limit.requestsPerUnit, windowMs: limit.windowMs },
    cost,
    mode: cost === 0 ? 'peek' : 'take',
    shadow: limit.shadow,
    chargeRejected: limit.shadow || globalShadow,
    blockMs: limit.blockMs,
    ...(limit.blockMs > 0 ? { blockKey: `${key}!b` } : {}),
  });
}

/**
 * The state key of a descriptor's counter: "envoy:<domain>|<key>=<value>|…", plus the
 * override ("|@10/MINUTE") when the request chose the limit, and the algorithm when it is
 * not envoy's fixed window (so a config change of algorithm never reads the other's state).
 */
export function envoyStateKey(domain: string, entries: readonly RateLimitEntry[], override?: Pick<EnvoyLimit, 'requestsPerUnit' | 'unit'>, algorithm = 'fixed-window'): string {
  return `${envoyNamespace(domain)}|${descriptorId(entries, override, algorithm)}`;
}

/** The namespace of a domain's counters; the ":" keeps it apart from every policy rule's. */
function envoyNamespace(domain: string): string {
  return `envoy:${esc(domain)}`;
}

function descriptorId(entries: readonly RateLimitEntry[], override: Pick<EnvoyLimit, 'requestsPerUnit' | 'unit'> | undefined, algorithm: string): string {
  let id = `${esc(entries[0].key)}=${esc(entries[0].value)}`;
  for (let i = 1; i < entries.length; i++) id += `|${esc(entries[i].key)}=${esc(entries[i].value)}`;
  if (override) id += `|@${override.requestsPerUnit}/${override.unit}`;
  if (algorithm !== 'fixed-window') id += `|~${algorithm}`;
  return id;
}

/** Envoy's key space escapes its own separators too (`=` `@` `~`), never throwing (../stores/key-codec.ts). */
function esc(s: string): string {
  return escapeValue(s, '=@~{}');
}

/** A request-level limit: as envoy, never shadowed, no name, replaces nothing, fixed window. */
export function overrideLimit(entries: readonly RateLimitEntry[], requestsPerUnit: number, unit: Exclude<EnvoyUnit, 'UNKNOWN'>): EnvoyLimit {
  return {
    path: entries.map((e) => (e.value ? `${e.key}_${e.value}` : e.key)).join('.'),
    replaces: [],
    unlimited: false,
    requestsPerUnit,
    unit,
    windowMs: UNIT_MS[unit],
    algorithm: 'fixed-window',
    blockMs: 0,
    shadow: false,
    detailedMetric: false,
    valueToMetric: false,
  };
}
