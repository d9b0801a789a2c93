/**
 * The SQLite store's amortized expiry: sweepPerWrite expired rows per write transaction,
 * deleted once every SWEEP_EVERY group commits that wrote (a delete statement per commit cost
 * about a third of the commit). Counted through a second connection to the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore, SWEEP_EVERY } from '../../src/stores/sqlite.js';
import type { TxOp } from '../../src/stores/store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const take = (key: string, windowMs: number): TxOp => ({ key, tag: key, algorithm: 'fixed-window', params: { limit: 10, windowMs }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });

function rows(file: string, where = ''): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM sluice_state ${where}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('SQLite amortized sweep', () => {
  it.each([1, 3])('deletes sweepPerWrite expired rows per write transaction, every SWEEP_EVERY commits that wrote (%i transactions per commit), never a live row', async (perCommit) => {
    const file = join(dir, `s${perCommit}.db`);
    // 200 rows that expire within a second, and one that lives an hour, written by an earlier process
    const before = new SqliteStore(file, { sweepIntervalMs: 0 });
    for (let i = 0; i < 200; i++) before.apply([take(`short-${i}`, 1_000)], T0);
    before.apply([take('long', 3_600_000)], T0);
    await before.close();
    const store = new SqliteStore(file, { sweepIntervalMs: 0, sweepPerWrite: 2 });
    try {
      const at = T0 + 10_000;
      let swept = 0;
      for (let c = 1; c <= 3 * SWEEP_EVERY; c++) {
        for (let i = 0; i < perCommit; i++) store.apply([take(`new-${c}-${i}`, 3_600_000)], at);
        store.flush();
        // every SWEEP_EVERY-th commit: 2 rows for each transaction since the last sweep
        if (c % SWEEP_EVERY === 0) swept = Math.min(200, swept + 2 * SWEEP_EVERY * perCommit);
        expect(rows(file, "WHERE key LIKE 'short-%'")).toBe(200 - swept);
        expect(rows(file, "WHERE key = 'long' OR key LIKE 'new-%'")).toBe(1 + c * perCommit);
      }
      expect(swept).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
