import type { Params } from '../algorithms/index.js';
import type { CompiledPolicy, CompiledRule, OverrideSpec } from '../policy/compiled.js';
import { unescapeValue } from '../stores/key-codec.js';
import type { LimitLookup, Store, StoredOverride } from '../stores/store.js';
import { scaledParams } from '../stores/transaction.js';
import { carryState, type CarrySides, type RuleChange } from './carry-over.js';
import { stateKeyFor } from './keys.js';

type Scale = NonNullable<CompiledRule['scale']>;

/**
 * A changed rule's states are carried over with each KEY's limit, not the rule's: a GCRA's
 * TAT is in units of window ÷ limit, so a key with a custom limit or a scale read with the
 * rule's base limit lost (or gained) used units at a reload, and a limit the reload lifted
 * was no limit. The key's parameters under the old and the new policy are decided exactly as
 * the engine decides them (effectiveParams, ../stores/transaction.ts): a run-time override in
 * the store, else the policy file's override for the key, else the limit scaled by the
 * entity's attribute (the store's, else the file's), else the rule's own.
 */
export class CarryParams {
  private readonly fileFrom: Map<string, OverrideSpec>;
  private readonly fileTo: Map<string, OverrideSpec>;

  private largestBefore: number | undefined;
  private smallestAfter: number | undefined;

  constructor(
    private readonly change: RuleChange,
    private readonly before: { policy: CompiledPolicy; rule: CompiledRule },
    private readonly after: { policy: CompiledPolicy; rule: CompiledRule },
    private readonly now: number,
  ) {
    this.fileFrom = fileOverrides(before.policy, before.rule);
    this.fileTo = fileOverrides(after.policy, after.rule);
  }

  /** The entities whose attributes may scale this key's limit (for a store read asynchronously: fetched first). */
  entities(key: string): string[] {
    const values = this.valuesOf(key);
    const out: string[] = [];
    for (const rule of [this.before.rule, this.after.rule]) {
      const e = rule.scale && entityOf(rule, rule.scale, values);
      if (e !== undefined && !out.includes(e)) out.push(e);
    }
    return out;
  }

  /** The key's parameters before and after the reload. */
  of(key: string, lookup: LimitLookup): CarrySides {
    const values = this.valuesOf(key);
    const canonical = values === undefined ? key : stateKeyFor(this.after.rule, values);
    const runTime = lookup.override({ key: canonical }, this.now);
    const from = this.side(this.before, this.fileFrom, runTime, canonical, values, lookup);
    const to = this.side(this.after, this.fileTo, runTime, canonical, values, lookup);
    if (from.factor !== undefined && to.factor !== undefined) return { from: from.params, to: to.params };
    // A factor the store and the file do not hold comes from the request (the subject's
    // attribute), else the rule's default: not known here. Only a GCRA's state depends on the
    // limit, so its side is read conservatively, never with fewer used units than the state
    // held under any limit the engine could pick for the key — the default or a value the
    // file gives any entity (a request may send another: a factor outside that range is not
    // covered): the largest factor for a GCRA read from, the smallest for a GCRA written to.
    // The same request factor on both sides of a GCRA-to-GCRA change cancels out.
    const fromGcra = this.change.from.algorithm === 'gcra';
    const toGcra = this.change.to.algorithm === 'gcra';
    const same = from.factor === undefined && to.factor === undefined && sameScale(this.before.rule.scale, this.after.rule.scale);
    const fromParams = from.factor !== undefined ? from.params : scaledParams(this.before.rule.params, same && toGcra ? this.before.rule.scale!.default : fromGcra ? (this.largestBefore ??= this.factorRange(this.before).max) : this.before.rule.scale!.default);
    const toParams = to.factor !== undefined ? to.params : scaledParams(this.after.rule.params, same && fromGcra ? this.after.rule.scale!.default : toGcra ? (this.smallestAfter ??= this.factorRange(this.after).min) : this.after.rule.scale!.default);
    return { from: fromParams, to: toParams };
  }

  /** One side's parameters for the key, and the scale factor it used (undefined: a factor not known here; no scale: 1). */
  private side(
    at: { policy: CompiledPolicy; rule: CompiledRule },
    file: Map<string, OverrideSpec>,
    runTime: { limit: number; windowMs: number } | undefined,
    key: string,
    values: Record<string, string> | undefined,
    lookup: LimitLookup,
  ): { params: Params; factor: number | undefined } {
    const { rule, policy } = at;
    const f = file.get(key);
    const o = runTime ?? (f !== undefined && (f.expiresAt === undefined || f.expiresAt > this.now) ? f : undefined);
    if (o) return { params: { ...rule.params, limit: o.limit, windowMs: o.windowMs, burst: undefined }, factor: 1 };
    const scale = rule.scale;
    if (scale === undefined) return { params: rule.params, factor: 1 };
    const entity = entityOf(rule, scale, values);
    const factor = entity === undefined ? undefined : (lookup.attribute(entity, scale.attribute) ?? policy.attributes.get(entity)?.[scale.attribute]);
    return { params: factor === undefined ? rule.params : scaledParams(rule.params, factor), factor };
  }

  /** The smallest and largest scale factor the engine could pick for a key whose factor is not known here (the default, or any the file gives an entity): found once a reload, not per key. */
  private factorRange(at: { policy: CompiledPolicy; rule: CompiledRule }): { min: number; max: number } {
    const scale = at.rule.scale!;
    let min = scale.default;
    let max = scale.default;
    for (const attrs of at.policy.attributes.values()) {
      const v = attrs[scale.attribute];
      if (typeof v === 'number' && v > 0) {
        // Stryker disable next-line EqualityOperator: a value equal to the bound leaves it the same
        if (v < min) min = v;
        // Stryker disable next-line EqualityOperator: a value equal to the bound leaves it the same
        if (v > max) max = v;
      }
    }
    return { min, max };
  }

  /** The key's values by attribute, read back from its state key (undefined: not a key of this rule's shape). */
  private valuesOf(key: string): Record<string, string> | undefined {
    const attrs = this.after.rule.keyAttrs;
    if (attrs.length !== this.before.rule.keyAttrs.length) return undefined;
    const head = `${this.after.rule.name}|`;
    if (attrs.length === 0) return key === this.after.rule.name ? {} : undefined;
    // The memory store names a one-key rule's shared bucket (its empty value) by the rule alone; checks call it `rule|`.
    if (attrs.length === 1 && key === this.after.rule.name) return { [attrs[0]]: '' };
    if (!key.startsWith(head)) return undefined;
    let parts = key.slice(head.length).split('|');
    // A store that keeps one value unescaped (memory) may hand back a "|" inside it as is.
    if (attrs.length === 1 && parts.length > 1) parts = [parts.join('|')];
    if (parts.length !== attrs.length) return undefined;
    const values: Record<string, string> = {};
    attrs.forEach((a, i) => (values[a] = unescapeValue(parts[i])));
    return values;
  }
}

/**
 * Carries a changed rule's states over in a store that lists them asynchronously (Redis):
 * its run-time overrides are read first, and each scaling entity's attributes once, before its
 * first state is rewritten.
 */
export async function rewriteAsync(store: Store, change: RuleChange, params: CarryParams, now: number): Promise<number> {
  const overrides = await store.listOverrides(now);
  const attributes = new Map<string, Record<string, number>>();
  const lookup = fetchedLookup(overrides, attributes);
  return store.rewriteStatesAsync!(
    change.rule,
    async (state, key) => {
      for (const e of params.entities(key)) if (!attributes.has(e)) attributes.set(e, await store.getAttributes(e));
      return carryState(change, state, now, params.of(key, lookup));
    },
    now,
  );
}

/** The LimitLookup of a store read asynchronously, from what was fetched before the rewrite. */
export function fetchedLookup(overrides: readonly StoredOverride[], attributes: ReadonlyMap<string, Record<string, number>>): LimitLookup {
  const byKey = new Map(overrides.map((o) => [o.key, o]));
  return {
    override: (ref, now) => {
      const o = byKey.get(ref.key);
      return o !== undefined && (o.expiresAt === undefined || o.expiresAt > now) ? o : undefined;
    },
    attribute: (entity, name) => attributes.get(entity)?.[name],
  };
}

function fileOverrides(policy: CompiledPolicy, rule: CompiledRule): Map<string, OverrideSpec> {
  const out = new Map<string, OverrideSpec>();
  for (const o of policy.overrides) if (o.rule === rule.name) out.set(stateKeyFor(rule, o.key), o);
  return out;
}

/** The entity whose attribute scales the key ("tenant:acme"); `of` is one of the key's attributes. */
function entityOf(rule: CompiledRule, scale: Scale, values: Record<string, string> | undefined): string | undefined {
  if (values === undefined || !rule.keyAttrs.includes(scale.of)) return undefined;
  return `${scale.of}:${values[scale.of]}`;
}

function sameScale(a: Scale | undefined, b: Scale | undefined): boolean {
  return a !== undefined && b !== undefined && a.of === b.of && a.attribute === b.attribute;
}
