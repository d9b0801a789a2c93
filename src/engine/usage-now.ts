import { algorithms } from '../algorithms/index.js';
import { stateReader } from '../stores/read-states.js';
import { scaledParams } from '../stores/transaction.js';
import type { RulePeek, Sluice } from './sluice.js';

/**
 * Each peeked rule's real usage now: its state read from the store and counted by its
 * algorithm's usage() under the effective limit and window the peek reported. Unlike
 * limit − remaining it goes past the limit when usage did (a byte quota crossed by the
 * download that finished over it; a charge_rejected rule hammered far past its limit).
 * A store that cannot read states gives limit − remaining, which stops at the limit.
 * What admin inspect and the dashboard's refused keys report as `used`.
 */
export async function usageNow(sluice: Sluice, peeks: readonly RulePeek[], now: number): Promise<number[]> {
  const read = await stateReader(sluice.store)?.(peeks.map((p) => ({ key: p.key })), now);
  return peeks.map(({ rule, usage: r, policyOverride }, i) => {
    if (read === undefined) return Math.max(0, r.limit - r.remaining);
    const p = rule.params;
    // The key's parameters as the store made them (effectiveParams): a scale multiplies the burst too, an override drops it.
    // An override of a scaled rule that keeps the window reads as a scale: harmless, the peek clamped the state to the store's bound.
    const scaled = rule.scale !== undefined && !policyOverride && r.windowMs === p.windowMs && p.limit > 0;
    const params = r.limit === p.limit && r.windowMs === p.windowMs ? p : scaled ? scaledParams(p, r.limit / p.limit) : { ...p, limit: r.limit, windowMs: r.windowMs, burst: undefined };
    return algorithms[rule.algorithm].usage(read.states[i], read.now, params);
  });
}
