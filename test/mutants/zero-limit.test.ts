import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gcra } from '../../src/algorithms/gcra.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { fixedWindowOp } from './support.js';

/**
 * A limit of 0 ("0 per minute", an override of 0, a scaled limit with an attribute of 0) admits
 * nothing, for a window, with finite figures: GCRA's interval window/0 is infinite and its
 * tolerance 0 × ∞ was NaN, so every answer carried NaN (`Retry-After: NaN`).
 */
describe('a GCRA limit of 0', () => {
  const p = { limit: 0, windowMs: 60_000 };
  it('the step refuses with nothing remaining and a retry of one window, writing nothing new', () => {
    expect(gcra.step(null, 1000, 1, p, 'take')).toEqual({ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 60_000, state: null });
    expect(gcra.step([5000], 1000, 1, p, 'peek')).toEqual({ allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 60_000, state: [5000] });
    expect(gcra.step([5000], 1000, 1, p, 'refund')).toMatchObject({ allowed: true, retryAfterMs: 0, state: [5000] });
  });

  it('the memory store (general and in-place paths) and the engine answer finite figures', async () => {
    const store = new MemoryStore();
    const op = fixedWindowOp(p, { algorithm: 'gcra' });
    for (const r of [store.apply([op], 1000), store.apply([{ ...op, mode: 'peek' }], 1000)]) expect(r[0]).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 60_000 });
    const dir = mkdtempSync(join(tmpdir(), 'sluice-zero-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'rules:\n  - name: g\n    limit: 0 per minute\n    algorithm: gcra\n    key: [user]\n');
    const sluice = await Sluice.open({ policy: file, clock: () => 1_000_000 });
    for (let i = 0; i < 2; i++) {
      const d = await sluice.check({ user: 'u' });
      expect(d).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 60_000 });
      expect(d.headers['Retry-After']).toBe('60');
      expect(d.headers.RateLimit).toBe('"g";r=0;t=0'); // nothing held: no reset to wait for (as the sliding log's 0)
    }
    await sluice.close();
  });
});
