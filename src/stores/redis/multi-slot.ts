import type { Cluster, Redis } from 'ioredis';
import type { OpResult, TxOp } from '../store.js';
import type { Batcher } from './batcher.js';
import { decodeResults, encodeTx, scaleReadableInScript, type WireOp } from './encode.js';
import type { KeySpace } from './keys.js';
import { keySlot } from './slot.js';
import { encodeState } from './state-codec.js';
import { txOp } from '../tx-op.js';

/** What the multi-slot path needs of the store. */
export interface MultiSlotContext {
  readonly client: Redis | Cluster;
  readonly keys: KeySpace;
  readonly cluster: boolean;
  readonly batcher: Batcher;
  readonly timeoutMs: number;
  readonly stats: { multiSlot: number; refunds: number; refundErrors: number };
  readonly onError?: (e: unknown) => void;
}

/** How long keys outlive their window (as in the script): 1 s on the server clock, a minute on a caller's clock. */
const SLACK = 1000;
const CLIENT_CLOCK_SLACK = 60_000;

interface Group {
  wire: WireOp[];
  /** Per wire op: the transaction's op it stands for, and whether it is that op's block check. */
  from: { i: number; check: boolean }[];
}

/**
 * A transaction whose keys span Cluster slots (or whose scale attribute the script cannot
 * read). The exact guarantee:
 *  1. Scale attributes stored in another slot are read first (HGET), then used as is.
 *  2. The slots are decided one after another, in one canonical order (ascending slot
 *     number), each slot's ops by one script call, atomically. A block key in another slot
 *     than its counter is checked by a block-check op in the block key's slot.
 *  3. A slot is charged only once every slot before it admitted the request. Once one
 *     refuses, the slots after it are decided (in parallel) as parts of a refused request
 *     (flag 'r': nothing charged but what runTransaction charges a refused request), and the
 *     slots before it get back what they charged for it: per key, the state the last op that
 *     wrote it wrote is undone (mode 'refund', or 'force' for a refund) and the write that
 *     runTransaction would have made last is applied, all before apply() resolves (waiting at
 *     most the timeout). Block penalties whose key lives in another slot are tripped then too.
 * Why the order: requests racing for two slots' capacity all meet the first slot first, so only
 * the requests it admitted can take the second slot's capacity, and a request the second slot
 * refuses gives back only a first-slot charge nobody else was refused for. Charging the slots
 * in parallel instead, each of many processes could win one slot and lose the other, and all
 * be refused while the capacity was free again (the starvation this order removes).
 * So: never over-admits; charges are exact once the corrections land (count-exact: a sliding
 * log gives back its newest units, which may be a concurrent request's timestamps, never more
 * units than were taken); a request admitted across k slots costs k round trips (the
 * single-slot path is unchanged: one); if Redis fails between rounds, a correction can be
 * lost (counted in stats.refundErrors), which errs on the side of refusing. Each slot's part
 * runs on its own node's clock.
 */
export async function applyMultiSlot(ctx: MultiSlotContext, ops: readonly TxOp[], at: number | undefined): Promise<OpResult[]> {
  ctx.stats.multiSlot++;
  const ks = ctx.keys;
  const n = ops.length;
  const slotOf = (k: string) => (ctx.cluster ? keySlot(k) : 0);
  const mainSlot = new Array<number>(n);
  const factors = new Array<number | undefined>(n);
  try {
    // 1. attributes the script cannot read in-slot
    const reads: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      mainSlot[i] = slotOf(ks.base(op.key, op.tag));
      if (op.scale && (!scaleReadableInScript(op) || slotOf(ks.attributes(op.scale.entity)) !== mainSlot[i])) {
        const scale = op.scale;
        reads.push(
          ctx.client.hget(ks.attributes(scale.entity), scale.attribute).then((v) => {
            const f = v === null ? NaN : Number(v);
            factors[i] = Number.isFinite(f) ? f : scale.fallback;
          }),
        );
      }
    }
    if (reads.length) await Promise.all(reads);

    // 2. one transaction per slot, in ascending slot order
    const groups = new Map<number, Group>();
    const group = (slot: number) => {
      let g = groups.get(slot);
      if (!g) groups.set(slot, (g = { wire: [], from: [] }));
      return g;
    };
    const foreignBlock = new Array<boolean>(n).fill(false);
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      const bslot = op.blockKey === undefined ? mainSlot[i] : slotOf(ks.base(op.blockKey));
      foreignBlock[i] = bslot !== mainSlot[i];
      const g = group(mainSlot[i]);
      g.wire.push({ op, withKey: true, withBlock: !foreignBlock[i], factor: factors[i] });
      g.from.push({ i, check: false });
      if (foreignBlock[i] && op.mode !== 'force' && op.mode !== 'refund') {
        const c = group(bslot);
        c.wire.push({ op: blockCheckOf(op), withKey: false, withBlock: true });
        c.from.push({ i, check: true });
      }
    }
    const main = new Array<OpResult>(n);
    const blockedElsewhere = new Array<OpResult | undefined>(n);
    /** Ops sent as a peek: a slot decided earlier found them blocked, so they charge nothing. */
    const peeked = new Array<boolean>(n).fill(false);
    const slotOk = new Map<number, boolean>();
    const slotNow = new Map<number, number>();
    const decide = async (slot: number, refused: boolean): Promise<boolean> => {
      const g = groups.get(slot)!;
      const wire = g.wire.map((w, j) => {
        const { i, check } = g.from[j];
        if (check || blockedElsewhere[i] === undefined) return w;
        peeked[i] = true;
        return { ...w, mode: 'peek' as const };
      });
      const enc = encodeTx(wire, at, ks, refused);
      const r = await ctx.batcher.submit(slot, enc.keys, enc.arg, enc.nops, (text, serverNow, m, offset) => ({ results: decodeResults(text, m, offset), serverNow }));
      let ok = !refused;
      r.results.forEach((res, j) => {
        const { i, check } = g.from[j];
        if (check) {
          if (res.blocked) blockedElsewhere[i] = res;
        } else main[i] = res;
        if (!res.allowed && !ops[i].shadow && !(peeked[i] && !check)) ok = false;
      });
      slotOk.set(slot, ok);
      slotNow.set(slot, at ?? r.serverNow ?? Date.now());
      return ok;
    };
    const order = [...groups.keys()].sort((a, b) => a - b);
    let next = 0;
    while (next < order.length) if (!(await decide(order[next++], false))) break;
    if (next < order.length) await Promise.all(order.slice(next).map((slot) => decide(slot, true)));

    // 3. merge, then correct and trip
    const final: OpResult[] = new Array(n);
    let admitted = true;
    for (let i = 0; i < n; i++) {
      const m = main[i];
      const c = blockedElsewhere[i];
      final[i] = c ? { allowed: false, blocked: true, limit: m.limit, windowMs: m.windowMs, remaining: 0, resetMs: c.resetMs, retryAfterMs: c.retryAfterMs } : { ...m };
      if (!final[i].allowed && !ops[i].shadow) admitted = false;
    }
    const later: Promise<unknown>[] = [];
    for (const { slot, op, mode } of corrections(ops, main, mainSlot, slotOk, blockedElsewhere, peeked, admitted, (i) => ks.state(ops[i].key, ops[i].tag))) {
      if (mode === 'refund') ctx.stats.refunds++;
      // One transaction per correction: two on one key in one transaction would both read the same state.
      const enc = encodeTx([{ op: op.op, withKey: true, withBlock: false, factor: factors[op.i], mode }], at, ks);
      later.push(ctx.batcher.submit(slot, enc.keys, enc.arg, enc.nops, ignore));
    }
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      const mode = op.blockOnly ? 'peek' : op.mode;
      if (foreignBlock[i] && !blockedElsewhere[i] && !main[i].allowed && op.blockKey !== undefined && !op.shadow && mode !== 'refund') {
        const until = slotNow.get(mainSlot[i])! + op.blockMs;
        const slack = at === undefined ? SLACK : CLIENT_CLOCK_SLACK;
        later.push(ctx.client.set(ks.state(op.blockKey), encodeState([until], until + slack), 'PX', op.blockMs + slack));
        final[i].blocked = true;
        final[i].resetMs = final[i].retryAfterMs = op.blockMs;
      }
    }
    if (later.length) {
      const settle = Promise.all(later).catch((e) => {
        ctx.stats.refundErrors++;
        ctx.onError?.(e);
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settle, new Promise<void>((res) => (timer = setTimeout(res, ctx.timeoutMs)))]);
      clearTimeout(timer);
    }
    return final;
  } catch (e) {
    // Script-call failures were counted by the batcher.
    throw e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * The ops that turn each key's state, as its slot left it, into the state runTransaction
 * would have left. Within a transaction every op steps from the state before it and the last
 * write to a key wins, so per key only the last writer matters: the one the slot's own verdict
 * made (`actual`) and the one the request's verdict makes (`owed`). When they differ, the
 * actual one is undone and the owed one applied, in that order.
 */
function* corrections(
  ops: readonly TxOp[],
  main: readonly OpResult[],
  mainSlot: readonly number[],
  slotOk: ReadonlyMap<number, boolean>,
  blockedElsewhere: readonly (OpResult | undefined)[],
  peeked: readonly boolean[],
  admitted: boolean,
  keyOf: (i: number) => string,
): Generator<{ slot: number; op: { op: TxOp; i: number }; mode: 'refund' | 'force' }> {
  const writes = (i: number, verdict: boolean, owed: boolean): boolean => {
    const op = ops[i];
    const m = main[i];
    if (peeked[i] || (owed && blockedElsewhere[i])) return false;
    // In a slot that admitted, a blocked op was blocked at its check (a trip needs a refusal): it wrote nothing.
    if (m.blocked && slotOk.get(mainSlot[i])) return false;
    if (op.mode === 'force' || op.mode === 'refund') return true;
    if (op.mode !== 'take' || op.blockOnly) return false;
    return verdict ? m.allowed : op.chargeRejected;
  };
  const lastWriter = new Map<string, { actual?: number; owed?: number }>();
  for (let i = 0; i < ops.length; i++) {
    const k = keyOf(i);
    let w = lastWriter.get(k);
    if (!w) lastWriter.set(k, (w = {}));
    if (writes(i, slotOk.get(mainSlot[i])!, false)) w.actual = i;
    if (writes(i, admitted, true)) w.owed = i;
  }
  for (const { actual, owed } of lastWriter.values()) {
    if (actual === owed) continue;
    if (actual !== undefined) yield { slot: mainSlot[actual], op: { op: ops[actual], i: actual }, mode: ops[actual].mode === 'refund' ? 'force' : 'refund' };
    if (owed !== undefined) yield { slot: mainSlot[owed], op: { op: ops[owed], i: owed }, mode: ops[owed].mode === 'refund' ? 'refund' : 'force' };
  }
}

const ignore = (): void => undefined;

/** The block check of an op whose block key lives in another slot (a plain object: TxOps may compute key and tag in getters). */
function blockCheckOf(op: TxOp): TxOp {
  return txOp({ key: op.key, tag: op.tag, algorithm: op.algorithm, params: op.params, cost: op.cost, mode: op.mode, shadow: op.shadow, blockMs: op.blockMs, blockKey: op.blockKey, blockOnly: op.blockOnly });
}
