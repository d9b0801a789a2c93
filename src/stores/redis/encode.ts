import type { Params } from '../../algorithms/index.js';
import type { OpResult, TxOp } from '../store.js';
import { ALG_CODE } from './lua/transaction.js';
import type { KeySpace } from './keys.js';
import { decodeState } from './state-codec.js';

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

/** The 1-based index of `k` among the transaction's keys, adding it when new (a transaction has a handful). */
function add(keys: string[], k: string): number {
  const i = keys.indexOf(k);
  return i >= 0 ? i + 1 : keys.push(k);
}

/**
 * Encodes a transaction for the script (see lua/transaction.ts for the wire format). `refused`:
 * decide it as a transaction some other part of the request already refused (a later slot of a
 * multi-slot request): nothing is charged but what runTransaction charges a refused request.
 */
export function encodeTx(ops: readonly WireOp[], now: number | undefined, ks: KeySpace, refused = false): EncodedTx {
  const keys: string[] = [];
  let body = '';
  for (let i = 0; i < ops.length; i++) {
    const w = ops[i];
    body += encodeOp(w.op, keys, ks, w.withKey, w.withBlock, w.factor, w.mode ?? w.op.mode);
  }
  return { keys, arg: head(now, keys, ops.length) + (refused ? 'r' : '') + body, nops: ops.length };
}

/** encodeTx for the common case, every op whole and as is: no wrapper object per op on the hot path. */
export function encodeOps(ops: readonly TxOp[], now: number | undefined, ks: KeySpace): EncodedTx {
  const keys: string[] = [];
  let body = '';
  for (let i = 0; i < ops.length; i++) body += encodeOp(ops[i], keys, ks, true, true, undefined, ops[i].mode);
  return { keys, arg: head(now, keys, ops.length) + body, nops: ops.length };
}

function head(now: number | undefined, keys: string[], nops: number): string {
  return `${now === undefined ? '-' : num(now)},${keys.length},${nops}`;
}

/** One op's "/spec;fields", adding its keys to `keys`. */
function encodeOp(op: TxOp, keys: string[], ks: KeySpace, withKey: boolean, withBlock: boolean, factor: number | undefined, mode: TxOp['mode']): string {
  const keyIdx = withKey ? add(keys, ks.state(op.key, op.tag)) : '-';
  const blockIdx = withBlock && op.blockKey !== undefined ? add(keys, ks.state(op.blockKey)) : '-';
  const flags = (op.shadow ? 1 : 0) | (op.chargeRejected ? 2 : 0) | (op.blockOnly ? 4 : 0) | (withKey ? 8 : 0);
  const short = `/${staticPart(op.algorithm, op.params)};${keyIdx},${num(op.cost)},${MODE[mode]},${flags}`;
  if (blockIdx === '-' && !op.override && !op.scale) return short;
  let scale = '-,-,-,-';
  if (op.scale) {
    if (factor !== undefined) scale = `v,-,-,${num(factor)}`;
    else if (SAFE_NAME.test(op.scale.attribute)) scale = `a,${add(keys, ks.attributes(op.scale.entity))},${op.scale.attribute},${num(op.scale.fallback)}`;
    else throw new RangeError(`sluice redis store: attribute name ${JSON.stringify(op.scale.attribute)} must be read by the caller`);
  }
  const ov = op.override ? `${num(op.override.limit)},${num(op.override.windowMs)}` : '-,-';
  return `${short},${blockIdx},${num(op.blockMs)},${ov},${scale}`;
}

/** Whether an op's scale attribute can be read inside the script (otherwise the caller reads it). */
export function scaleReadableInScript(op: TxOp): boolean {
  return op.scale === undefined || SAFE_NAME.test(op.scale.attribute);
}

/** Values per op in a transaction's reply: allowed, blocked, limit, windowMs, remaining, resetMs, retryAfterMs. */
const RESULT_DOUBLES = 7;
/** Bytes per op in a call's results (see lua/transaction.ts: a transaction of n ops takes n × this). */
export const RESULT_BYTES = RESULT_DOUBLES * 8;

/**
 * Decodes one transaction's reply: per op 7 little-endian doubles, then, in debug mode, per op
 * a count and that many doubles of its stored state. `+ 0` turns -0 into 0, as integer replies did.
 */
export function decodeTx(reply: unknown, nops: number): { results: OpResult[]; states?: (number[] | null)[] } {
  const results = decodeResults(reply, nops);
  const buf = reply as Buffer; // checked by decodeResults
  let o = nops * RESULT_DOUBLES * 8;
  if (o === buf.length) return { results };
  const states: (number[] | null)[] = [];
  for (let i = 0; i < nops; i++) {
    const n = buf.readDoubleLE(o);
    states.push(decodeState(buf.subarray(o + 8, o + 8 + n * 8)));
    o += 8 + n * 8;
  }
  return { results, states };
}

/** The results part of a transaction's reply (decodeTx without the debug states), found at `offset` of the call's results. */
export function decodeResults(reply: unknown, nops: number, offset = 0): OpResult[] {
  if (!Buffer.isBuffer(reply) || reply.length < offset + nops * RESULT_BYTES) throw new Error(`sluice redis store: expected ${nops} results from the transaction script`);
  const results: OpResult[] = new Array(nops);
  for (let i = 0, o = offset; i < nops; i++, o += RESULT_BYTES) {
    results[i] = {
      allowed: reply.readDoubleLE(o) === 1,
      blocked: reply.readDoubleLE(o + 8) === 1,
      limit: reply.readDoubleLE(o + 16) + 0,
      windowMs: reply.readDoubleLE(o + 24) + 0,
      remaining: reply.readDoubleLE(o + 32) + 0,
      resetMs: reply.readDoubleLE(o + 40) + 0,
      retryAfterMs: reply.readDoubleLE(o + 48) + 0,
    };
  }
  return results;
}
