import { algorithms, type Params } from '../algorithms/index.js';
import { blockedUntil } from '../algorithms/block.js';
import type { OpResult, StateRef, TxOp } from './store.js';

/** What a store exposes to the shared transaction logic. */
export interface StateAccess {
  read(ref: StateRef): readonly number[] | null;
  write(ref: StateRef, state: number[] | null, expiresAt: number): void;
  /** A run-time override for this state, if one is in force at `now`. */
  override(ref: StateRef, now: number): { limit: number; windowMs: number } | undefined;
  attribute(entity: string, name: string): number | undefined;
}

/**
 * The one definition of how a transaction is decided, shared by every store:
 *  1. each op is stepped against its own state (a blocked key is refused outright);
 *  2. the transaction is admitted when every non-shadow op admits it;
 *  3. if admitted, every 'take' op is charged; if refused, none is, except ops
 *     that charge rejected calls; 'force' and 'refund' ops always apply;
 *  4. any non-shadow op that refused trips its block penalty.
 * The Redis Lua script mirrors runGeneralTransaction line by line.
 */
export function runTransaction(ops: readonly TxOp[], now: number, s: StateAccess): OpResult[] {
  // Most checks match one rule; runOneOp decides such a transaction without the scratch bookkeeping.
  // Stryker disable next-line ConditionalExpression: runOneOp is the general path's shortcut for one op (test/engine/one-op.test.ts holds them equal)
  return ops.length === 1 ? [runOneOp(ops[0], now, s)] : runGeneralTransaction(ops, now, s);
}

/** runTransaction for any number of ops (exported so tests can hold runOneOp to it). */
export function runGeneralTransaction(ops: readonly TxOp[], now: number, s: StateAccess): OpResult[] {
  // Stryker disable next-line ArrayDeclaration: every slot is assigned by index below; the length only presizes
  const results: OpResult[] = new Array(ops.length);
  // Scratch space: the function is synchronous and never re-entered, so it can be shared.
  const next = scratchNext;
  const rejectedState = scratchRejected;
  let admitted = true;

  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const p = effectiveParams(op, now, s);
    if (op.blockKey !== undefined && op.mode !== 'force' && op.mode !== 'refund') {
      const b = s.read({ key: op.blockKey });
      if (b && b[0] > now) {
        const wait = blockUntil(s, op, b[0], now) - now;
        results[i] = { allowed: false, blocked: true, limit: p.limit, windowMs: p.windowMs, remaining: 0, resetMs: wait, retryAfterMs: wait };
        if (!op.shadow) admitted = false;
        continue;
      }
    }
    const alg = algorithms[op.algorithm];
    const state = s.read(op);
    // Stryker disable next-line StringLiteral: every algorithm steps an unknown mode as a peek (only 'take' and 'force' charge, 'refund' gives back)
    const mode = op.blockOnly ? 'peek' : op.mode;
    const r = alg.step(state, now, op.cost, p, mode);
    const allowed = op.blockOnly ? true : r.allowed;
    results[i] = { allowed, blocked: false, limit: p.limit, windowMs: p.windowMs, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: allowed ? 0 : r.retryAfterMs };
    // Stryker disable next-line ConditionalExpression,StringLiteral: a peek's next[i] is never read (the second loop reads it for force, refund and take only)
    if (mode !== 'peek') next[i] = r.state;
    // Stryker disable next-line ConditionalExpression,LogicalOperator: rejectedState[i] is read only for a refused take that charges refusals: filling it for others only costs a step
    if (mode === 'take' && op.chargeRejected) rejectedState[i] = r.allowed ? r.state : alg.step(state, now, op.cost, p, 'force').state;
    // Assigned on every op, not only when ahead: a slot left by a transaction that threw (a store's read) would be written to this op's key.
    // Stryker disable next-line StringLiteral: every algorithm steps an unknown mode as a peek (only 'take' and 'force' charge, 'refund' gives back)
    clampedState[i] = state !== null && alg.ahead(state, now, p) ? alg.step(state, now, op.cost, p, 'peek').state : undefined;
    if (!allowed && !op.shadow) admitted = false;
  }

  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const r = results[i];
    if (r.blocked) continue;
    // Stryker disable next-line StringLiteral: every algorithm steps an unknown mode as a peek (only 'take' and 'force' charge, 'refund' gives back)
    const mode = op.blockOnly ? 'peek' : op.mode;
    let write: number[] | null | undefined;
    if (mode === 'force' || mode === 'refund') write = next[i];
    else if (mode === 'take') write = admitted ? (r.allowed ? next[i] : undefined) : op.chargeRejected ? rejectedState[i] : undefined;
    // Nothing charged, but the state was stamped ahead of now: keep it clamped from now on.
    if (write === undefined) write = clampedState[i];
    if (write !== undefined) {
      const p =
        // Stryker disable next-line ConditionalExpression,EqualityOperator: expiresAt reads windowMs (and buckets), never the limit: only the window test tells
        r.limit === op.params.limit &&
        r.windowMs === op.params.windowMs
          ? op.params
          : { ...op.params, limit: r.limit, windowMs: r.windowMs };
      s.write(op, write, write ? algorithms[op.algorithm].expiresAt(write, p) : 0);
    }
    // A refusal (or, for outcome rules, an event past the limit) trips the block.
    if (
      !r.allowed &&
      op.blockKey !== undefined &&
      !op.shadow &&
      // Stryker disable next-line ConditionalExpression,StringLiteral: every algorithm's refund step is allowed, so a refund never reaches this with !allowed
      mode !== 'refund'
    ) {
      const until = now + op.blockMs;
      s.write({ key: op.blockKey }, [until], until);
      r.resetMs = r.retryAfterMs = op.blockMs;
      r.blocked = true;
    }
    next[i] = rejectedState[i] = clampedState[i] = undefined;
  }
  return results;
}

/**
 * A transaction of one op, decided exactly as runGeneralTransaction([op]) decides it
 * (test/engine/one-op.test.ts checks this on random ops): alone, the op admits the
 * transaction unless it refuses outside shadow mode.
 */
export function runOneOp(op: TxOp, now: number, s: StateAccess): OpResult {
  const p = effectiveParams(op, now, s);
  if (op.blockKey !== undefined && op.mode !== 'force' && op.mode !== 'refund') {
    const b = s.read({ key: op.blockKey });
    if (b && b[0] > now) {
      const wait = blockUntil(s, op, b[0], now) - now;
      return { allowed: false, blocked: true, limit: p.limit, windowMs: p.windowMs, remaining: 0, resetMs: wait, retryAfterMs: wait };
    }
  }
  const alg = algorithms[op.algorithm];
  const state = s.read(op);
  // Stryker disable next-line StringLiteral: every algorithm steps an unknown mode as a peek (only 'take' and 'force' charge, 'refund' gives back)
  const mode = op.blockOnly ? 'peek' : op.mode;
  const r = alg.step(state, now, op.cost, p, mode);
  const allowed = op.blockOnly ? true : r.allowed;
  const result: OpResult = { allowed, blocked: false, limit: p.limit, windowMs: p.windowMs, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: allowed ? 0 : r.retryAfterMs };
  let write: number[] | null | undefined;
  if (mode === 'force' || mode === 'refund') write = r.state;
  else if (mode === 'take') {
    // Here allowed === r.allowed (not blockOnly); a shadow refusal still admits, uncharged.
    if (r.allowed) write = r.state;
    else if (!op.shadow && op.chargeRejected) write = alg.step(state, now, op.cost, p, 'force').state;
  }
  // Nothing charged, but the state was stamped ahead of now: keep it clamped from now on
  // (a refused take's and a peek's state is the clamped state, uncharged).
  if (write === undefined && state !== null && alg.ahead(state, now, p)) write = r.state;
  if (write !== undefined) {
    const wp =
      // Stryker disable next-line ConditionalExpression,EqualityOperator: expiresAt reads windowMs (and buckets), never the limit: only the window test tells
      p.limit === op.params.limit &&
      p.windowMs === op.params.windowMs
        ? op.params
        : { ...op.params, limit: p.limit, windowMs: p.windowMs };
    s.write(op, write, write ? alg.expiresAt(write, wp) : 0);
  }
  if (
    !allowed &&
    op.blockKey !== undefined &&
    !op.shadow &&
    // Stryker disable next-line ConditionalExpression,StringLiteral: every algorithm's refund step is allowed, so a refund never reaches this with !allowed
    mode !== 'refund'
  ) {
    const until = now + op.blockMs;
    s.write({ key: op.blockKey }, [until], until);
    result.resetMs = result.retryAfterMs = op.blockMs;
    result.blocked = true;
  }
  return result;
}

const scratchNext: (number[] | null | undefined)[] = [];
const scratchRejected: (number[] | null | undefined)[] = [];
const clampedState: (number[] | null | undefined)[] = [];

/**
 * When a blocked key's block ends: its deadline, clamped to the block's length from now. A
 * deadline further off was stamped by a clock that stepped back; the clamped one is written
 * back, so the block ends one block after the step instead of after the step's size.
 */
function blockUntil(s: StateAccess, op: TxOp, stamped: number, now: number): number {
  const until = blockedUntil(stamped, now, op.blockMs);
  if (until !== stamped) s.write({ key: op.blockKey! }, [until], until);
  return until;
}

/** The op's parameters after a run-time override, or scaled by an entity attribute. */
export function effectiveParams(op: TxOp, now: number, s: Pick<StateAccess, 'override' | 'attribute'>): Params {
  const o = s.override(op, now) ?? op.override;
  if (o) return { ...op.params, limit: o.limit, windowMs: o.windowMs, burst: undefined };
  if (!op.scale) return op.params;
  return scaledParams(op.params, s.attribute(op.scale.entity, op.scale.attribute) ?? op.scale.fallback);
}

/** A rule's parameters with its limit (and burst) multiplied by an entity's factor. */
export function scaledParams(p: Params, factor: number): Params {
  return { ...p, limit: p.limit * factor, burst: p.burst === undefined ? undefined : p.burst * factor };
}
