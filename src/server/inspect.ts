import type { Sluice } from '../engine/sluice.js';
import { blockKeyOf, keyTag, stateKey } from '../engine/keys.js';
import type { CompiledRule, Subject } from '../policy/compiled.js';
import type { OpResult, TxOp } from '../stores/store.js';

export interface RuleUsage {
  rule: string;
  key: string;
  algorithm: string;
  /** Effective limit and window (after overrides and attribute scaling). */
  limit: number;
  windowMs: number;
  used: number;
  remaining: number;
  resetMs: number;
  /** Whether one more unit would be admitted now (0 when it would). */
  retryAfterMs: number;
  blocked: boolean;
  blockedForMs?: number;
  shadow: boolean;
  phase: 'request' | 'outcome';
  override?: 'policy' | 'store';
}

/**
 * Current usage of a subject under every rule it matches, without charging anything.
 *
 * Builds the same ops Sluice's check would (key, overrides, scaling) in 'peek' mode and
 * applies them as one transaction. Blocks are read with separate block-only ops so a
 * peek that would not fit can never trip a block penalty.
 */
export async function inspect(sluice: Sluice, subject: Subject): Promise<RuleUsage[]> {
  const policy = sluice.policy;
  const rules = policy.rules.filter((r) => r.matches(subject));
  if (rules.length === 0) return [];
  const policyOverrides = new Map<string, { limit: number; windowMs: number; expiresAt?: number }>();
  for (const o of policy.overrides) {
    const r = policy.ruleByName.get(o.rule);
    if (r) policyOverrides.set(stateKey(r, o.key), o);
  }
  const now = sluice.now();
  const ops: TxOp[] = [];
  const blockOps: (number | undefined)[] = [];
  for (const rule of rules) ops.push(peekOp(rule, subject, policyOverrides, now, policy.attributes));
  for (let i = 0; i < rules.length; i++) {
    if (rules[i].blockMs > 0) {
      blockOps[i] = ops.length;
      ops.push({ ...ops[i], blockKey: blockKeyOf(rules[i], subject), blockOnly: true });
    }
  }
  const results: OpResult[] = await sluice.store.apply(ops, now);
  const storeOverrides = new Set((await sluice.store.listOverrides()).filter((o) => o.expiresAt === undefined || o.expiresAt > now).map((o) => o.key));
  return rules.map((rule, i) => {
    const r = results[i];
    const b = blockOps[i] === undefined ? undefined : results[blockOps[i]!];
    const blocked = b?.blocked ?? false;
    const key = ops[i].key;
    return {
      rule: rule.name,
      key,
      algorithm: rule.algorithm,
      limit: r.limit,
      windowMs: r.windowMs,
      used: Math.max(0, r.limit - r.remaining),
      remaining: blocked ? 0 : r.remaining,
      resetMs: blocked ? Math.max(r.resetMs, b!.resetMs) : r.resetMs,
      retryAfterMs: blocked ? b!.retryAfterMs : r.retryAfterMs,
      blocked,
      ...(blocked ? { blockedForMs: b!.retryAfterMs } : {}),
      shadow: rule.shadow,
      phase: rule.phase,
      ...(storeOverrides.has(key) ? { override: 'store' as const } : policyOverrides.has(key) ? { override: 'policy' as const } : {}),
    };
  });
}

function peekOp(
  rule: CompiledRule,
  subject: Subject,
  overrides: Map<string, { limit: number; windowMs: number; expiresAt?: number }>,
  now: number,
  attributes: ReadonlyMap<string, Readonly<Record<string, number>>>,
): TxOp {
  const key = stateKey(rule, subject);
  const op: TxOp = {
    key,
    tag: keyTag(key),
    algorithm: rule.algorithm,
    params: rule.params,
    cost: 1,
    mode: 'peek',
    shadow: true,
    chargeRejected: false,
    blockMs: 0,
    blockKey: undefined,
    blockOnly: false,
  };
  const o = overrides.get(key);
  if (o && (o.expiresAt === undefined || o.expiresAt > now)) op.override = o;
  if (rule.scale) {
    const entity = `${rule.scale.of}:${subject[rule.scale.of]}`;
    const fromFile = attributes.get(entity)?.[rule.scale.attribute];
    const fromSubject = Number(subject[rule.scale.attribute]);
    op.scale = { entity, attribute: rule.scale.attribute, fallback: fromFile ?? (fromSubject > 0 ? fromSubject : rule.scale.default) };
  }
  return op;
}
