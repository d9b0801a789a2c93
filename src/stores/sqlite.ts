import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { runTransaction, type StateAccess } from './transaction.js';
import type { OpResult, StateRef, StateRewrite, Store, StoredOverride, TxOp } from './store.js';

export interface SqliteStoreOptions {
  /**
   * 'normal' (default): every answered decision survives a crash or `kill -9` of the process
   * (a commit has reached the OS before its answers are written); a power cut or an OS crash
   * can lose the commits since the WAL was last synced (at a checkpoint, about every 1,000
   * pages): those keys' counts go back, so a client may be admitted again up to what those
   * commits charged. The file stays consistent. 'full' also survives a power cut, at the
   * cost of one fsync per group commit (one per event-loop turn, not per decision).
   */
  synchronous?: 'normal' | 'full';
  /** Most transactions in one group commit; a longer synchronous run commits and opens a new group. Default 4096. */
  maxGroup?: number;
  /**
   * WAL checkpoints in a worker thread (see sqlite-checkpointer.ts), started at the first
   * commit that writes, instead of inside the commit that fills the WAL. Default true.
   */
  backgroundCheckpoints?: boolean;
  /** With background checkpoints: WAL frames (pages) past which the worker restarts the WAL from its start (sqlite-checkpointer.ts). Default 16384 (64 MB of 4 KB pages): each restart holds the writer for one checkpoint's sync, measured up to 65 ms on a loaded machine, so they are kept rare. */
  walRestartFrames?: number;
  /** With background checkpoints: how often the worker checkpoints, in ms. Default 500. */
  checkpointEveryMs?: number;
  /** How often expired rows are swept, in ms (0: never; rows are then only overwritten). Default 30 s. */
  sweepIntervalMs?: number;
  /** Expired rows deleted per write transaction (amortized expiry, deleted every SWEEP_EVERY group commits). Default 2. */
  sweepPerWrite?: number;
}

type Db = Database.Database;

/** Group commits that wrote between two amortized sweeps of expired rows (SqliteStore.sweepSome). */
export const SWEEP_EVERY = 8;
type Stmt = Database.Statement;

/** A state the open group has read or written: null is absent (or deleted). */
interface Cached {
  state: number[] | null;
  expiresAt: number;
  dirty: boolean;
}

/**
 * The embedded durable store: one SQLite file (WAL), decided by the shared
 * `runTransaction` inside a SQLite write transaction, so a transaction of ops is
 * atomic against every other connection to the same file (other processes included)
 * and survives a restart or a crash of the process.
 *
 * Group commit: the first apply of an event-loop turn opens a write transaction
 * (BEGIN IMMEDIATE, so the group holds the file's write lock and reads what other
 * processes committed before it); every apply of the turn is decided against the group's
 * cache of states (read once from the file, written back once), and the group commits
 * once: when the service flushes the turn's answers (flush(), called right before they
 * are written), or at the latest in a setImmediate. Library callers wait for that commit
 * (whenDurable), so no answer is given for a decision that is not committed. A commit per
 * decision cost about 60 µs here (bench/service.mjs: SQLite at 0.22 of the bare server);
 * per turn it is shared by every decision of the turn.
 *
 * Tables: state (key → Float64 array blob, expires_at), overrides and attributes.
 * States are stored as raw little-endian doubles, so they read back bit-identical.
 * Expired rows go lazily: a couple per write, plus a periodic unref'd sweep.
 */
export class SqliteStore implements Store, StateAccess {
  readonly name = 'sqlite';
  /** apply() answers at once; the answers become durable at the group commit (flush, whenDurable). */
  readonly synchronous = true;
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
  private readonly begin: Stmt;
  private readonly commitStmt: Stmt;
  private readonly rollback: Stmt;
  private readonly sweepPerWrite: number;
  private readonly maxGroup: number;
  /** The open group: states it has read or written (null: no group is open). */
  private group: Map<string, Cached> | null = null;
  /** Transactions in the open group, and how many of them wrote. */
  private groupSize = 0;
  private groupWrites = 0;
  /** Write transactions, and commits that wrote, since the last amortized sweep (sweepSome). */
  private unswept = 0;
  private commitsUnswept = 0;
  /** The open group's commit, for callers that wait for it (made when first asked). */
  private durable?: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  /** Background checkpoints: wanted (true) until started, then the worker. */
  private checkpointer?: SqliteCheckpointer | boolean;
  private readonly checkpointOpts: { everyMs?: number; restartFrames?: number };
  /** The writes of the transaction being decided, applied to the group only once it is decided. */
  private staged: [string, number[] | null, number][] = [];
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
    const db = new (loadSqlite())(path);
    this.db = db;
    db.pragma('busy_timeout = 5000');
    // Before WAL: a new file takes its auto_vacuum mode only while it has no pages yet.
    reclaimFreedPages(db);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
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
    this.maxGroup = Math.max(1, opts.maxGroup ?? 4096);
    this.checkpointer = path !== ':memory:' && path !== '' && (opts.backgroundCheckpoints ?? true);
    this.checkpointOpts = { everyMs: opts.checkpointEveryMs, restartFrames: opts.walRestartFrames };
    // IMMEDIATE: take the write lock up front, so concurrent processes serialize instead of failing to upgrade a read lock.
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    const every = opts.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  apply(ops: readonly TxOp[], now: number): OpResult[] {
    if (this.closed) throw new Error('the SQLite store is closed');
    this.lastNow = now;
    if (this.group === null) this.open();
    else if (this.groupSize >= this.maxGroup) {
      this.flush();
      this.open();
    }
    this.wrote = false;
    this.staged.length = 0;
    const results = runTransaction(ops, now, this);
    // Decided: only now do its writes join the group (a transaction that threw leaves no trace).
    const group = this.group!;
    for (const [key, state, expiresAt] of this.staged) group.set(key, { state, expiresAt, dirty: true });
    this.staged.length = 0;
    this.groupSize++;
    if (this.wrote) this.groupWrites++;
    return results;
  }

  /**
   * Commits the open group now: every decision applied so far is durable when it returns.
   * The service calls it right before writing a turn's answers. Throws when the commit
   * fails (the group is rolled back: its decisions are lost, as their answers must be).
   */
  flush(): void {
    const group = this.group;
    if (group === null) return;
    this.group = null;
    const durable = this.durable;
    this.durable = undefined;
    try {
      for (const [key, c] of group) {
        if (!c.dirty) continue;
        if (c.state === null || c.state.length === 0) this.q.del.run(key);
        else this.q.put.run(key, encode(c.state), c.expiresAt);
      }
      if (this.groupWrites > 0 && this.sweepPerWrite > 0) this.sweepSome();
      this.commitStmt.run();
      if (this.checkpointer === true && this.groupWrites > 0) this.startCheckpoints();
    } catch (e) {
      if (this.db.inTransaction) this.rollback.run();
      durable?.reject(e);
      throw e;
    }
    durable?.resolve();
  }

  /**
   * The amortized expiry: sweepPerWrite expired rows per write transaction, deleted once every
   * SWEEP_EVERY group commits that wrote, for all of their transactions. The delete is a
   * statement of its own even when nothing has expired (about a third of a group commit's
   * time, measured with 20 decisions per group), so it runs on one commit in eight.
   */
  private sweepSome(): void {
    this.unswept += this.groupWrites;
    if (++this.commitsUnswept < SWEEP_EVERY) return;
    this.q.sweep.run(this.lastNow, Math.min(this.sweepPerWrite * this.unswept, 1000));
    this.unswept = this.commitsUnswept = 0;
  }

  /** Resolves once the decisions applied so far are committed; undefined when they already are. */
  whenDurable(): Promise<void> | undefined {
    if (this.group === null) return undefined;
    if (this.durable === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((y, n) => {
        resolve = y;
        reject = n;
      });
      this.durable = { promise, resolve, reject };
    }
    return this.durable.promise;
  }

  private startCheckpoints(): void {
    try {
      this.checkpointer = new SqliteCheckpointer(this.path, this.checkpointOpts.everyMs, this.checkpointOpts.restartFrames);
      this.db.pragma('wal_autocheckpoint = 0');
    } catch {
      this.checkpointer = false; // no worker threads here: SQLite's own auto-checkpoint stays on
    }
  }

  /** Opens a group: the write lock, a fresh cache, and its commit at the end of this turn at the latest. */
  private open(): void {
    this.begin.run();
    this.group = new Map();
    this.groupSize = this.groupWrites = 0;
    this.hasOverrides = this.q.ovCount.get() === 1;
    setImmediate(this.commitLater);
  }

  private readonly commitLater = (): void => {
    try {
      this.flush();
    } catch {
      // Rolled back, and whoever waited (whenDurable) was told; the next apply opens a new group.
    }
  };

  /**
   * Deletes every row that has expired by the instant of the latest transaction, then gives the
   * freed pages back to the file system (incremental vacuum, and a WAL checkpoint that truncates
   * the log), so the file shrinks with the keys instead of only growing. Returns how many rows went.
   */
  sweep(): number {
    if (this.closed || this.lastNow === 0) return 0;
    this.commitLater();
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

  /** Rewrites every state of a rule (a reload that changed its algorithm or limit); the open group commits first. */
  rewriteStates(ns: string, rewrite: StateRewrite): number {
    this.flush();
    return this.db.transaction(() => {
      const rows = this.q.inNs.all(ns, ns, ns) as { key: string; state: Buffer }[];
      for (const row of rows) {
        const next = rewrite(decode(row.state), row.key, this);
        if (next.state === null || next.state.length === 0) this.q.del.run(row.key);
        else this.q.put.run(row.key, encode(next.state), next.expiresAt);
      }
      return rows.length;
    }).immediate();
  }

  // ---- StateAccess ----

  // Reads and writes go through the open group's cache: a key is read from the file once
  // per group, and written back once, at the commit. Reads see the group's own writes.

  read(ref: StateRef): readonly number[] | null {
    const key = ref.key;
    const group = this.group!;
    const cached = group.get(key);
    if (cached !== undefined) return cached.state;
    const blob = this.q.get.get(key) as Buffer | undefined;
    const state = blob ? decode(blob) : null;
    group.set(key, { state, expiresAt: 0, dirty: false });
    return state;
  }

  write(ref: StateRef, state: number[] | null, expiresAt: number): void {
    this.wrote = true;
    this.staged.push([ref.key, state, expiresAt]);
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

  /** Admin reads (inspect): the states these keys hold, the open group's decisions included. */
  async readStates(refs: readonly StateRef[], now: number): Promise<{ states: (readonly number[] | null)[]; now: number }> {
    const states = refs.map((ref) => {
      const cached = this.group?.get(ref.key);
      if (cached !== undefined) return cached.state;
      const blob = this.q.get.get(ref.key) as Buffer | undefined;
      return blob ? decode(blob) : null;
    });
    return { states, now };
  }

  // Admin writes commit the open group first, so they apply after every decision already
  // answered and the next group sees them (its cache starts empty).

  async setOverride(o: StoredOverride): Promise<void> {
    this.flush();
    this.q.ovPut.run(o.key, JSON.stringify(o), o.expiresAt ?? null);
  }
  async deleteOverride(key: string): Promise<boolean> {
    this.flush();
    return this.q.ovDel.run(key).changes > 0;
  }
  async listOverrides(now?: number): Promise<StoredOverride[]> {
    // Expired overrides no longer apply: they leave the table, as override() drops them at a decision.
    if (now !== undefined) {
      this.flush();
      this.q.ovExpire.run(now);
    }
    return (this.q.ovAll.all() as string[]).map((b) => JSON.parse(b) as StoredOverride);
  }
  async setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void> {
    this.flush();
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
    this.flush();
    return this.db.transaction(() => {
      let n = 0;
      for (const k of keys) n += this.q.del.run(k).changes;
      return n;
    })();
  }
  /** Keys holding live state at `now` (default: the latest transaction's instant); expired rows awaiting the sweep are not counted. */
  async size(now = this.lastNow): Promise<number> {
    this.flush();
    return this.q.count.get(now) as number;
  }
  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
    }
    if (this.timer) clearInterval(this.timer);
    if (typeof this.checkpointer === 'object') await this.checkpointer.close();
    this.db.close();
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

/** better-sqlite3 (a native module) is loaded when a SQLite store is opened, not when the package is imported. */
function loadSqlite(): typeof Database {
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}
