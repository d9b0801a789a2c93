import type { Params } from '../../algorithms/index.js';
import type { OpResult, TxOp } from '../store.js';
import { ALG_CODE } from './lua/transaction.js';
import type { KeySpace } from './keys.js';

/**
 * One op as sent to a script call. In the common case it is a TxOp as is; when a
 * transaction spans Cluster slots, an op is split: its counter goes to its own slot
 * (`withBlock` false when the block key lives elsewhere) and a block check goes to
 * the block key's slot (`withKey` false).
 */
export interface WireOp {
  op: TxOp;
  withKey: boolean;
  withBlock: boolean;
  /** A scale factor read by the caller (the attribute lives in another slot). */
  factor?: number;
  /** Replace the op's mode (refunds of a multi-slot transaction). */
  mode?: TxOp['mode'];
}

export interface EncodedTx {
  keys: string[];
  arg: string;
  nops: number;
}

const MODE = { take: 't', peek: 'p', force: 'f', refund: 'r' } as const;
const staticCache = new WeakMap<Params, Map<string, string>>();

/** "alg,limit,windowMs,burst,buckets" — the same for every op of a rule, so cached per params object. */
function staticPart(algorithm: TxOp['algorithm'], p: Params): string {
  let m = staticCache.get(p);
  if (!m) staticCache.set(p, (m = new Map()));
  let s = m.get(algorithm);
  if (s === undefined) {
    s = `${ALG_CODE[algorithm]},${num(p.limit)},${num(p.windowMs)},${p.burst === undefined ? '-' : num(p.burst)},${p.buckets === undefined ? '-' : num(p.buckets)}`;
    m.set(algorithm, s);
  }
  return s;
}

function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`sluice redis store: cannot encode ${x}`);
  return String(x);
}

const SAFE_NAME = /^[^,;/\s-][^,;/\s]*$/;

/** Encodes a transaction for the script (see lua/transaction.ts for the wire format). */
export function encodeTx(ops: readonly WireOp[], now: number | undefined, ks: KeySpace): EncodedTx {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const add = (k: string): number => {
    let i = index.get(k);
    if (i === undefined) {
      keys.push(k);
      i = keys.length;
      index.set(k, i);
    }
    return i;
  };
  let body = '';
  for (const w of ops) {
    const op = w.op;
    const keyIdx = w.withKey ? add(ks.state(op.key, op.tag)) : '-';
    const blockIdx = w.withBlock && op.blockKey !== undefined ? add(ks.state(op.blockKey)) : '-';
    const mode = w.mode ?? op.mode;
    const flags = (op.shadow ? 1 : 0) | (op.chargeRejected ? 2 : 0) | (op.blockOnly ? 4 : 0) | (w.withKey ? 8 : 0);
    body += `/${staticPart(op.algorithm, op.params)};${keyIdx},${num(op.cost)},${MODE[mode]},${flags}`;
    if (blockIdx === '-' && !op.override && !op.scale) continue; // short form
    let scale = '-,-,-,-';
    if (op.scale) {
      if (w.factor !== undefined) scale = `v,-,-,${num(w.factor)}`;
      else if (SAFE_NAME.test(op.scale.attribute)) scale = `a,${add(ks.attributes(op.scale.entity))},${op.scale.attribute},${num(op.scale.fallback)}`;
      else throw new RangeError(`sluice redis store: attribute name ${JSON.stringify(op.scale.attribute)} must be read by the caller`);
    }
    const ov = op.override ? `${num(op.override.limit)},${num(op.override.windowMs)}` : '-,-';
    body += `,${blockIdx},${num(op.blockMs)},${ov},${scale}`;
  }
  return { keys, arg: `${now === undefined ? '-' : num(now)},${keys.length},${ops.length}${body}`, nops: ops.length };
}

/** Whether an op's scale attribute can be read inside the script (otherwise the caller reads it). */
export function scaleReadableInScript(op: TxOp): boolean {
  return op.scale === undefined || SAFE_NAME.test(op.scale.attribute);
}

/** Decodes one transaction's reply: 7 values per op (numbers, or exact strings), then, in debug mode, each op's state. */
export function decodeTx(reply: unknown, nops: number): { results: OpResult[]; states?: (number[] | null)[] } {
  if (!Array.isArray(reply) || reply.length < nops * 7) throw new Error(`sluice redis store: expected ${nops} results from the transaction script`);
  const v = reply as (number | string)[];
  const results: OpResult[] = new Array(nops);
  for (let i = 0, j = 0; i < nops; i++, j += 7) {
    results[i] = {
      allowed: v[j] === 1,
      blocked: v[j + 1] === 1,
      limit: +v[j + 2],
      windowMs: +v[j + 3],
      remaining: +v[j + 4],
      resetMs: +v[j + 5],
      retryAfterMs: +v[j + 6],
    };
  }
  if (v.length === nops * 7) return { results };
  const states = v.slice(nops * 7).map((s) => (s === '' ? null : String(s).split(',').map(Number)));
  return { results, states };
}
