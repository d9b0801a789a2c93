/**
 * The SQLite file gives space back as keys expire (incremental vacuum and a truncating WAL
 * checkpoint on each sweep), a file made before that is converted on open, and the keys-tracked
 * figure counts live keys only, on SQLite and in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { keyTag } from '../../src/stores/redis/keys.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store, TxOp } from '../../src/stores/store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-space-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T = Date.UTC(2026, 0, 5);

function take(key: string): TxOp {
  return { key, tag: keyTag(key), algorithm: 'sliding-log', params: { limit: 10, windowMs: 1000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false };
}

function pages(path: string): { pages: number; free: number; autoVacuum: number } {
  const db = new Database(path, { readonly: true });
  try {
    return { pages: db.pragma('page_count', { simple: true }) as number, free: db.pragma('freelist_count', { simple: true }) as number, autoVacuum: db.pragma('auto_vacuum', { simple: true }) as number };
  } finally {
    db.close();
  }
}

describe('SQLite space', () => {
  it('shrinks once expired keys are swept', async () => {
    const path = join(dir, 'shrink.db');
    const store = new SqliteStore(path, { sweepIntervalMs: 0, sweepPerWrite: 0 });
    for (let i = 0; i < 20_000; i++) store.apply([take(`r|k${i}|${'x'.repeat(40)}`)], T);
    store.sweep(); // nothing expired yet: nothing freed
    const full = pages(path);
    expect(full.autoVacuum).toBe(2);
    store.apply([take('r|late')], T + 60_000);
    expect(store.sweep()).toBe(20_000);
    const after = pages(path);
    expect(after.free).toBe(0);
    expect(after.pages).toBeLessThan(full.pages / 4);
    await store.close();
  });

  it('converts a file made without incremental vacuum when it opens', async () => {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec('CREATE TABLE sluice_state (key TEXT PRIMARY KEY, state BLOB NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID');
    db.close();
    expect(pages(path).autoVacuum).toBe(0);
    const store = new SqliteStore(path, { sweepIntervalMs: 0 });
    await store.close();
    expect(pages(path).autoVacuum).toBe(2);
  });
});

describe('SQLite sweep after a clock step back', () => {
  it('never deletes state written since the step that is live by the clock it was written with', async () => {
    const store = new SqliteStore(join(dir, 'step.db'), { sweepIntervalMs: 0, sweepPerWrite: 0 });
    store.apply([take('r|before')], T);
    // The clock steps back an hour: this state lives until T - 1 h + 1 s, long before T.
    store.apply([take('r|after')], T - 3_600_000);
    store.sweep();
    expect(await store.size(T - 3_600_000)).toBe(2);
    const [r] = store.apply([{ ...take('r|after'), mode: 'peek' }], T - 3_600_000 + 10);
    expect(r.remaining).toBe(9);
    await store.close();
  });
});

describe('keys tracked counts live keys', () => {
  for (const [name, open] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore(join(dir, 'live.db'), { sweepIntervalMs: 0, sweepPerWrite: 0 })],
  ] as const) {
    it(name, async () => {
      const store: Store = open();
      for (let i = 0; i < 50; i++) await store.apply([take(`r|k${i}`)], T);
      expect(await store.size(T)).toBe(50);
      // No traffic since: nothing swept them, yet none is live.
      expect(await store.size(T + 10_000)).toBe(0);
      await store.close();
    });
  }
});
