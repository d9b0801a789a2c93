import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { runTransaction, type StateAccess } from './transaction.js';
import type { OpResult, StateRef, StateRewrite, Store, StoredOverride, TxOp } from './store.js';

export interface SqliteStoreOptions {
  /**
   * 'normal' (default) survives a crash or `kill -9` of the process (WAL pages are in the
   * OS page cache); 'full' also survives a power loss, at the cost of an fsync per decision.
   */
  synchronous?: 'normal' | 'full';
  /** How often expired rows are swept, in ms (0: never; rows are then only overwritten). Default 30 s. */
  sweepIntervalMs?: number;
  /** Expired rows deleted per write transaction (amortized expiry). Default 2. */
  sweepPerWrite?: number;
}

type Db = Database.Database;
type Stmt = Database.Statement;

/**
 * The embedded durable store: one SQLite file (WAL), decided by the shared
 * `runTransaction` inside a SQLite write transaction, so a transaction of ops is
 * atomic against every other connection to the same file (other processes included)
 * and survives a restart or a crash of the process.
 *
 * Tables: state (key → Float64 array blob, expires_at), overrides and attributes.
 * States are stored as raw little-endian doubles, so they read back bit-identical.
 * Expired rows go lazily: a couple per write, plus a periodic unref'd sweep.
 */
export class SqliteStore implements Store, StateAccess {
  readonly name = 'sqlite';
  readonly path: string;
  private readonly db: Db;
  private readonly q: {
    get: Stmt;
    put: Stmt;
    del: Stmt;
    sweep: Stmt;
    sweepAll: Stmt;
    count: Stmt;
    inNs: Stmt;
    ovGet: Stmt;
    ovPut: Stmt;
    ovDel: Stmt;
    ovAll: Stmt;
    ovCount: Stmt;
    ovExpire: Stmt;
    atGet: Stmt;
    atAll: Stmt;
    atPut: Stmt;
    atDel: Stmt;
  };
  private readonly tx: (ops: readonly TxOp[], now: number) => OpResult[];
  private readonly sweepPerWrite: number;
  private timer?: NodeJS.Timeout;
  /**
   * The instant of the latest apply(): the sweep uses the store's own notion of time (clocks are
   * injectable). The latest, not the greatest: after a clock stepped back, rows written since
   * expire by the new clock, and a sweep by the old, further instant would delete them live.
   */
  private lastNow = 0;
  private wrote = false;
  /** Whether any override row exists (checked once per transaction; saves a lookup per op when none do). */
  private hasOverrides = false;
  private closed = false;

  constructor(path = './data/sluice.db', opts: SqliteStoreOptions = {}) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    this.db = db;
    reclaimFreedPages(db);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS sluice_state (
        key TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        expires_at REAL NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS sluice_state_expiry ON sluice_state (expires_at);
      CREATE TABLE IF NOT EXISTS sluice_overrides (
        key TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        expires_at REAL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS sluice_attributes (
        entity TEXT NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (entity, name)
      ) WITHOUT ROWID;
    `);
    this.q = {
      get: db.prepare('SELECT state FROM sluice_state WHERE key = ?').pluck(),
      put: db.prepare('INSERT INTO sluice_state (key, state, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at'),
      del: db.prepare('DELETE FROM sluice_state WHERE key = ?'),
      sweep: db.prepare('DELETE FROM sluice_state WHERE key IN (SELECT key FROM sluice_state WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)'),
      sweepAll: db.prepare('DELETE FROM sluice_state WHERE expires_at <= ?'),
      count: db.prepare('SELECT count(*) FROM sluice_state WHERE expires_at > ?').pluck(),
      // A rule's states: the key is the rule name, or the name then "|" ("}" sorts right after "|").
      inNs: db.prepare("SELECT key, state FROM sluice_state WHERE key = ? OR (key >= ? || '|' AND key < ? || '}')"),
      ovGet: db.prepare('SELECT body, expires_at FROM sluice_overrides WHERE key = ?'),
      ovPut: db.prepare('INSERT OR REPLACE INTO sluice_overrides (key, body, expires_at) VALUES (?, ?, ?)'),
      ovDel: db.prepare('DELETE FROM sluice_overrides WHERE key = ?'),
      ovAll: db.prepare('SELECT body FROM sluice_overrides ORDER BY key').pluck(),
      ovCount: db.prepare('SELECT EXISTS (SELECT 1 FROM sluice_overrides)').pluck(),
      ovExpire: db.prepare('DELETE FROM sluice_overrides WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      atGet: db.prepare('SELECT value FROM sluice_attributes WHERE entity = ? AND name = ?').pluck(),
      atAll: db.prepare('SELECT name, value FROM sluice_attributes WHERE entity = ?'),
      atPut: db.prepare('INSERT OR REPLACE INTO sluice_attributes (entity, name, value) VALUES (?, ?, ?)'),
      atDel: db.prepare('DELETE FROM sluice_attributes WHERE entity = ? AND name = ?'),
    };
    this.sweepPerWrite = opts.sweepPerWrite ?? 2;
    // IMMEDIATE: take the write lock up front, so concurrent processes serialize instead of failing to upgrade a read lock.
    const run = db.transaction((ops: readonly TxOp[], now: number): OpResult[] => {
      this.wrote = false;
      this.hasOverrides = this.q.ovCount.get() === 1;
      const results = runTransaction(ops, now, this);
      if (this.wrote && this.sweepPerWrite > 0) this.q.sweep.run(now, this.sweepPerWrite);
      return results;
    });
    this.tx = (ops, now) => run.immediate(ops, now);
    const every = opts.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.lastNow = now;
    return this.tx(ops, now);
  }

  /**
   * Deletes every row that has expired by the instant of the latest transaction, then gives the
   * freed pages back to the file system (incremental vacuum, and a WAL checkpoint that truncates
   * the log), so the file shrinks with the keys instead of only growing. Returns how many rows went.
   */
  sweep(): number {
    if (this.closed || this.lastNow === 0) return 0;
    let n = 0;
    try {
      n = this.q.sweepAll.run(this.lastNow).changes;
      if ((this.db.pragma('freelist_count', { simple: true }) as number) > 0) {
        this.db.pragma('incremental_vacuum');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      }
    } catch {
      // busy: the next sweep (or the per-write one) will catch up
    }
    return n;
  }

  rewriteStates(ns: string, rewrite: StateRewrite): number {
    return this.db.transaction(() => {
      const rows = this.q.inNs.all(ns, ns, ns) as { key: string; state: Buffer }[];
      for (const row of rows) {
        const next = rewrite(decode(row.state));
        this.write({ key: row.key }, next.state, next.expiresAt);
      }
      return rows.length;
    }).immediate();
  }

  // ---- StateAccess ----

  read(ref: StateRef): readonly number[] | null {
    const blob = this.q.get.get(ref.key) as Buffer | undefined;
    return blob ? decode(blob) : null;
  }

  write(ref: StateRef, state: number[] | null, expiresAt: number): void {
    const key = ref.key;
    this.wrote = true;
    if (state === null || state.length === 0) this.q.del.run(key);
    else this.q.put.run(key, encode(state), expiresAt);
  }

  override(ref: StateRef, now: number): { limit: number; windowMs: number } | undefined {
    if (!this.hasOverrides) return undefined;
    const key = ref.key;
    const row = this.q.ovGet.get(key) as { body: string; expires_at: number | null } | undefined;
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= now) {
      this.q.ovDel.run(key);
      return undefined;
    }
    const o = JSON.parse(row.body) as StoredOverride;
    return { limit: o.limit, windowMs: o.windowMs };
  }

  attribute(entity: string, name: string): number | undefined {
    const v = this.q.atGet.get(entity, name) as number | undefined;
    return v ?? undefined;
  }

  // ---- admin ----

  async setOverride(o: StoredOverride): Promise<void> {
    this.q.ovPut.run(o.key, JSON.stringify(o), o.expiresAt ?? null);
  }
  async deleteOverride(key: string): Promise<boolean> {
    return this.q.ovDel.run(key).changes > 0;
  }
  async listOverrides(now?: number): Promise<StoredOverride[]> {
    // Expired overrides no longer apply: they leave the table, as override() drops them at a decision.
    if (now !== undefined) this.q.ovExpire.run(now);
    return (this.q.ovAll.all() as string[]).map((b) => JSON.parse(b) as StoredOverride);
  }
  async setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void> {
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null) this.q.atDel.run(entity, k);
        else this.q.atPut.run(entity, k, v);
      }
    })();
  }
  async getAttributes(entity: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of this.q.atAll.all(entity) as { name: string; value: number }[]) out[r.name] = r.value;
    return out;
  }
  async reset(keys: readonly string[]): Promise<number> {
    return this.db.transaction(() => {
      let n = 0;
      for (const k of keys) n += this.q.del.run(k).changes;
      return n;
    })();
  }
  /** Keys holding live state at `now` (default: the latest transaction's instant); expired rows awaiting the sweep are not counted. */
  async size(now = this.lastNow): Promise<number> {
    return this.q.count.get(now) as number;
  }
  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.db.close();
  }
}

/**
 * Files made by Sluice reclaim freed pages on each sweep (auto_vacuum = INCREMENTAL). The mode
 * must be chosen before the first table exists; an older file is converted by one VACUUM
 * (skipped while another connection holds it: the next open tries again).
 */
function reclaimFreedPages(db: Db): void {
  if (db.pragma('auto_vacuum', { simple: true }) === 2) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  const hasTables = db.prepare("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table')").pluck().get() === 1;
  if (!hasTables) return;
  try {
    db.exec('VACUUM');
  } catch {
    // busy: another process has the file open; it keeps growing until a later open converts it
  }
}

function encode(state: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(state.length * 8);
  for (let i = 0; i < state.length; i++) b.writeDoubleLE(state[i], i * 8);
  return b;
}

function decode(b: Buffer): number[] {
  const n = b.length >>> 3;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = b.readDoubleLE(i * 8);
  return out;
}
