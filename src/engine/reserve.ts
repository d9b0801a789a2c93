import type { Params } from '../algorithms/index.js';
import { escapeValue, KEY_EXTRA } from '../stores/key-codec.js';
import type { OpResult, Store } from '../stores/store.js';
import { txOp } from '../stores/tx-op.js';

/**
 * Reservations, for the pacer (../pacer/pacer.ts): a paced key takes its next slot from a GCRA
 * sequence in the store, in mode 'force' (taken whatever the wait, which comes back as
 * retryAfterMs), so every pacer sharing the store draws from one sequence. The op is built
 * here, not in the front door: no store operation is written out outside the engine.
 */

/** Where a paced key's sequence lives: `pacer|<name>|<key>` (pacers with the same name share it). */
export interface SlotRef {
  readonly key: string;
  readonly tag: string;
}

export function slotRef(name: string, key: string): SlotRef {
  const tag = `${escapeValue(name, KEY_EXTRA)}|${escapeValue(key, KEY_EXTRA)}`;
  return { key: `pacer|${tag}`, tag };
}

/**
 * Reserves the next slot at `now`: admitted (retryAfterMs 0) when it is due, or the wait
 * until it. Synchronous on a synchronous store (memory, SQLite); throws or rejects when the
 * store fails (the pacer holds the key then: it fails closed).
 */
export function reserveSlot(store: Store, slot: SlotRef, rate: Pick<Params, 'limit' | 'windowMs' | 'burst'>, now: number): OpResult | Promise<OpResult> {
  const op = txOp({ key: slot.key, tag: slot.tag, algorithm: 'gcra', params: { limit: rate.limit, windowMs: rate.windowMs, burst: rate.burst }, cost: 1, mode: 'force' });
  const r = store.apply([op], now);
  return Array.isArray(r) ? r[0] : r.then(first);
}

const first = (results: OpResult[]): OpResult => results[0];
