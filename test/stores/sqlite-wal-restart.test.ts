/**
 * Under sustained writes the SQLite store's WAL is restarted from its start (a RESTART
 * checkpoint once it holds more than walRestartFrames frames), so it stays bounded; with
 * passive checkpoints alone it grew by every commit (a passive checkpoint never catches up
 * with a writer that commits while it syncs).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { TxOp } from '../../src/stores/store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-wal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const take = (key: string): TxOp => ({ key, tag: key, algorithm: 'fixed-window', params: { limit: 1e9, windowMs: 60_000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });
const pause = () => new Promise((r) => setTimeout(r, 2));

describe('SQLite WAL under sustained writes', () => {
  it('stays bounded: restarted from its start once past walRestartFrames, instead of growing by every commit', async () => {
    const file = join(dir, 'wal.db');
    const store = new SqliteStore(file, { sweepIntervalMs: 0, checkpointEveryMs: 10, walRestartFrames: 64 });
    const commits = async (n: number, from: number) => {
      // Group commits in bursts with short pauses between (the worker thread gets its turns on a busy machine too); each writes at least one 4 KB page.
      for (let c = from; c < from + n; c++) {
        store.apply([take(`k${c % 50}`)], T0 + c);
        store.flush();
        if (c % 50 === 0) await pause();
      }
    };
    try {
      // The worker starts at the first commit and takes a while to load; what it finds then is its high-water mark.
      await commits(3_000, 0);
      const warm = statSync(`${file}-wal`).size;
      await commits(10_000, 3_000);
      // Never restarted, the WAL would grow by every commit's pages (about 15 MB here, measured).
      expect(statSync(`${file}-wal`).size - warm).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await store.close();
    }
  });
});
