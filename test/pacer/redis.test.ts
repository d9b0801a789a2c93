/**
 * Two OS processes sharing one redis-server pace the same key together: between them
 * they keep to the rate (plus the GCRA burst), measured from the jobs' start times.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';
import { paceCommand } from '../../src/pacer/command.js';
import { bundle } from '../helpers/bundle.js';

const available = warnIfNoRedis('test/pacer/redis.test.ts (two processes pacing through one Redis)');

describe.skipIf(!available)('pacer over Redis, two processes', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  }, 30_000);
  afterAll(async () => {
    await redis?.destroy();
  });

  it('two workers on one key never exceed the shared rate', async () => {
    const RATE = 40; // per second
    const BURST = 4;
    const PER_WORKER = 60;
    const script = await bundle(new URL('./support/pace-worker.ts', import.meta.url));
    const workers = [0, 1].map(() =>
      fork(script, [redis.url, 'channel-7', String(PER_WORKER), `${RATE}/s`, String(BURST)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    const message = (w: (typeof workers)[number], type: string) =>
      new Promise<{ type: string; starts?: number[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker gave no "${type}" in time`)), 60_000);
        const on = (m: { type: string }) => {
          if (m.type !== type) return;
          clearTimeout(timer);
          w.off('message', on);
          resolve(m);
        };
        w.on('message', on);
        w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
      });
    await Promise.all(workers.map((w) => message(w, 'ready')));
    const done = workers.map((w) => message(w, 'done'));
    for (const w of workers) w.send('go');
    const results = await Promise.all(done);

    const perWorker = results.map((r) => r.starts!);
    expect(perWorker.map((s) => s.length)).toEqual([PER_WORKER, PER_WORKER]);
    const all = perWorker.flat().sort((a, b) => a - b);
    // Both took part, interleaved, rather than one after the other.
    const firstHalf = all.slice(0, all.length / 2);
    for (const s of perWorker) expect(firstHalf.filter((t) => s.includes(t)).length).toBeGreaterThan(PER_WORKER / 4);

    // In any window of W ms at most BURST + W * rate starts, plus 2: each process holds one
    // reservation at a time, so a stalled event loop (loaded machine) can carry at most one
    // job per process late into a later window.
    for (const W of [250, 1000]) {
      const allowed = BURST + (W * RATE) / 1000 + 2;
      let j = 0;
      for (let i = 0; i < all.length; i++) {
        while (all[i] - all[j] >= W) j++;
        expect(i - j + 1, `starts within ${W} ms ending at #${i}`).toBeLessThanOrEqual(allowed);
      }
    }
    // And it was not needlessly slow (a loose bound: loaded CI machines).
    const span = all.at(-1)! - all[0];
    const minSpan = ((all.length - BURST) / RATE) * 1000;
    expect(span).toBeGreaterThanOrEqual(minSpan - 50);
    expect(span).toBeLessThan(minSpan * 3 + 2000);
  }, 90_000);

  it('sluice pace --store redis://… drains through the shared store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pace-redis-'));
    try {
      const file = join(dir, 'jobs.jsonl');
      writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ key: 'ch', n: i })).join('\n') + '\n');
      let lines = 0;
      const stdout = new Writable({ write: (c, _e, cb) => ((lines += String(c).split('\n').length - 1), cb()) });
      const stderr = new Writable({ write: (_c, _e, cb) => cb() });
      const r = await paceCommand({ file, rate: '100/s', store: redis.url, stdout, stderr, handleSigint: false });
      expect(r).toMatchObject({ sent: 20, failed: 0, exitCode: 0 });
      expect(lines).toBe(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
