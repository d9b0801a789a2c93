import type { TxOp } from './store.js';

/** What an op must say; everything else has the plain default (no shadow, no block, no override). */
export type TxOpFields = Pick<TxOp, 'key' | 'tag' | 'algorithm' | 'params' | 'cost' | 'mode'> & Partial<Omit<TxOp, 'key' | 'tag' | 'algorithm' | 'params' | 'cost' | 'mode'>>;

/**
 * The one way to write a TxOp out as a plain object (the engine's own ops are RuleOps,
 * ../engine/rule-op.ts). A TxOp has twelve fields and a literal of it was written out in four
 * places; here the defaults are said once, and every op has the same shape (one hidden
 * class for the stores' hot loops). The optional fields are set only when given, so a
 * store that copies an op with a spread sees no `undefined` override or scale.
 */
export function txOp(f: TxOpFields): TxOp {
  const op: TxOp = {
    key: f.key,
    ns: f.ns,
    id: f.id,
    tag: f.tag,
    algorithm: f.algorithm,
    params: f.params,
    cost: f.cost,
    mode: f.mode,
    shadow: f.shadow ?? false,
    chargeRejected: f.chargeRejected ?? false,
    blockMs: f.blockMs ?? 0,
    blockKey: f.blockKey,
    blockOnly: f.blockOnly ?? false,
  };
  if (f.override !== undefined) op.override = f.override;
  if (f.scale !== undefined) op.scale = f.scale;
  return op;
}
