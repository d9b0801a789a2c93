/**
 * SQLite group commit: the decisions of one event-loop turn share one write transaction,
 * committed by flush() (the service, before writing the turn's answers) or at the latest
 * in a setImmediate; library checks resolve only after it. These tests open a second
 * connection to the same file to see what is committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { TxOp } from '../../src/stores/store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const POLICY = `
version: 1
rules:
  - name: per-account
    match: { account: '*' }
    key: [account]
    limit: 3/1m
`;

function fresh(opts = {}): { store: SqliteStore; file: string } {
  const file = join(dir, `g${n++}.db`);
  const store = new SqliteStore(file, { sweepIntervalMs: 0, ...opts });
  open.push(store);
  return { store, file };
}

/** Rows committed to the file, as another connection sees them. */
function committedRows(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM sluice_state').pluck().get() as number;
  } finally {
    db.close();
  }
}

const take = (key: string, limit = 3): TxOp => ({ key, tag: key, algorithm: 'fixed-window', params: { limit, windowMs: 60_000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });

describe('SQLite group commit', () => {
  it('declares itself synchronous, so the service takes the synchronous path', () => {
    expect(fresh().store.synchronous).toBe(true);
  });

  it('two checks of one key in one turn both count (reads see the turn’s own uncommitted charges)', () => {
    const { store } = fresh();
    const a = store.apply([take('k')], T0);
    const b = store.apply([take('k')], T0);
    const c = store.apply([take('k')], T0);
    const d = store.apply([take('k')], T0);
    expect([a, b, c, d].map(([r]) => r.allowed)).toEqual([true, true, true, false]);
    expect([a, b, c].map(([r]) => r.remaining)).toEqual([2, 1, 0]);
  });

  it('nothing is committed before flush(); everything applied is committed after it', () => {
    const { store, file } = fresh();
    store.apply([take('a')], T0);
    store.apply([take('b')], T0);
    expect(store.whenDurable()).toBeInstanceOf(Promise);
    expect(committedRows(file)).toBe(0);
    store.flush();
    expect(committedRows(file)).toBe(2);
    expect(store.whenDurable()).toBeUndefined();
    // A new group reads what the last one committed.
    expect(store.apply([take('a')], T0)[0].remaining).toBe(1);
  });

  it('commits by itself at the end of the turn, and whenDurable resolves then', async () => {
    const { store, file } = fresh();
    store.apply([take('a')], T0);
    const durable = store.whenDurable()!;
    let resolved = false;
    void durable.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false); // not in a microtask: the turn's other decisions join the group
    await durable;
    expect(committedRows(file)).toBe(1);
  });

  it('the library’s check() resolves only once its decision is committed', async () => {
    const { store, file } = fresh();
    const sluice = await Sluice.open({ policy: POLICY, store, clock: () => T0 });
    const checks = Promise.all([sluice.check({ account: 'x' }), sluice.check({ account: 'x' }), sluice.check({ account: 'y' })]);
    expect(committedRows(file)).toBe(0);
    const ds = await checks;
    expect(committedRows(file)).toBe(2);
    expect(ds.map((d) => d.remaining)).toEqual([2, 1, 2]);
  });

  it('a transaction that throws midway leaves no trace in the group', () => {
    const { store } = fresh();
    store.apply([take('k')], T0);
    const broken = { ...take('other'), algorithm: 'no-such-algorithm' } as unknown as TxOp;
    expect(() => store.apply([take('k'), broken], T0)).toThrow();
    expect(store.apply([take('k')], T0)[0].remaining).toBe(1); // only the first take counted
  });

  it('an admin reset in the same turn applies after the decisions already made', async () => {
    const { store } = fresh();
    store.apply([take('k')], T0);
    store.apply([take('k')], T0);
    expect(await store.reset(['k'])).toBe(1);
    expect(store.apply([take('k')], T0)[0].remaining).toBe(2);
    store.flush();
  });

  it('a run-time override set mid-turn is seen by the next decision', async () => {
    const { store } = fresh();
    store.apply([take('k', 1)], T0);
    expect(store.apply([take('k', 1)], T0)[0].allowed).toBe(false);
    await store.setOverride({ key: 'k', rule: 'r', keyValues: {}, limit: 5, windowMs: 60_000 });
    expect(store.apply([take('k', 1)], T0)[0].allowed).toBe(true);
  });

  it('a long synchronous run commits every maxGroup transactions', () => {
    const { store, file } = fresh({ maxGroup: 10 });
    for (let i = 0; i < 25; i++) store.apply([take(`k${i}`)], T0);
    expect(committedRows(file)).toBe(20);
    store.flush();
    expect(committedRows(file)).toBe(25);
  });

  it('another connection (another process) sees every charge once the group is committed', async () => {
    const { store, file } = fresh();
    const other = new SqliteStore(file, { sweepIntervalMs: 0 });
    open.push(other);
    store.apply([take('k')], T0);
    store.apply([take('k')], T0);
    store.flush();
    expect(other.apply([take('k')], T0)[0].remaining).toBe(0);
    other.flush();
    expect(store.apply([take('k')], T0)[0].allowed).toBe(false);
  });

  it('close() commits what is pending', async () => {
    const file = join(dir, `close-${n++}.db`);
    const store = new SqliteStore(file, { sweepIntervalMs: 0 });
    store.apply([take('k')], T0);
    await store.close();
    expect(committedRows(file)).toBe(1);
  });
});
