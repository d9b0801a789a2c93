import type { TxOp } from '../../src/stores/store.js';

/** A plain fixed-window take on key r|a with the given parameters; `over` changes any field. */
export function fixedWindowOp(params: TxOp['params'], over: Partial<TxOp> = {}): TxOp {
  return { key: 'r|a', tag: 'a', algorithm: 'fixed-window', params, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false, ...over };
}
