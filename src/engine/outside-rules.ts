import { policyItem } from '../headers/ratelimit-headers.js';
import type { CompiledPolicy, CompiledRule } from '../policy/compiled.js';

/**
 * Rules that come from somewhere other than the policy file — Envoy's descriptors
 * (../envoy/compile.ts) — decided by the same engine as policy rules: the same store
 * transaction, circuit breaker, refused cache, fallback limiter and `on_store_error`
 * handling, and a Decision the same metrics count.
 *
 * Each such rule lives in a namespace of its own: its name holds a ":" (which a policy rule
 * name cannot: ../policy/schema.ts), and so do the state keys its front door builds, so a
 * policy rule named "envoy" never shares a counter, a metric label or a reload with it.
 */
export interface OutsideRuleSpec {
  /** "<door>:<…>", e.g. "envoy:web:remote_address"; what `sluice_decisions_total` labels it. */
  name: string;
  algorithm: CompiledRule['algorithm'];
  params: CompiledRule['params'];
  /** Decided and charged, but never refuses (a refusal is reported, not enforced). */
  shadow: boolean;
  /** While the store is down: decide locally with this instance's share ('open') or refuse ('closed'). */
  onStoreError: 'open' | 'closed';
  blockMs: number;
}

/** Compiles one outside rule. Throws when its name is not namespaced (no ":"), so it could collide with a policy rule. */
export function outsideRule(spec: OutsideRuleSpec): CompiledRule {
  if (!spec.name.includes(':')) throw new TypeError(`an outside rule's name is namespaced ("door:name"); got "${spec.name}"`);
  return {
    index: -1, // in no policy's rule list
    name: spec.name,
    matches: never,
    matchesIgnoringKey: never,
    keyAttrs: NO_ATTRS,
    algorithm: spec.algorithm,
    params: spec.params,
    cost: ONE,
    phase: 'request',
    counts: never,
    blockMs: spec.blockMs,
    blockKeyAttrs: NO_ATTRS,
    action: 'reject',
    response: { status: 429, message: 'Rate limit exceeded.', code: 'rate_limited' },
    shadow: spec.shadow,
    onStoreError: spec.onStoreError,
    chargeRejected: false,
    policyItem: policyItem(spec.name, spec.params.limit, spec.params.windowMs),
  };
}

/** A policy without rules: the engine of a door whose rules all come from elsewhere (Envoy only). */
export function emptyPolicy(source: string): CompiledPolicy {
  return { rules: [], ruleByName: new Map(), groups: new Map(), overrides: [], attributes: new Map(), caps: [], routes: [], legacyHeaders: false, source };
}

const never = (): boolean => false;
const NO_ATTRS: readonly string[] = [];
const ONE = { kind: 'fixed', units: 1 } as const;
