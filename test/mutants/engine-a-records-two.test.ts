import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';

/**
 * A record that two rules count, with no lease after them: the first counting rule must not be
 * decided in place alone (hasCounted sees the second), so both are charged. A failure of 40 bytes
 * leaves fails 5 − 1 = 4 and bytes 100 − 40 = 60.
 */
describe('a record counted by two rules', () => {
  it('charges both, in place or not', async () => {
    const policy = {
      rules: [
        { name: 'req', key: 'user', limit: '10/1m', algorithm: 'fixed-window' as const },
        { name: 'fails', key: 'user', limit: '5/1m', count: 'failure' as const },
        { name: 'bytes', key: 'user', limit: '100B/1m' },
      ],
    };
    const sluice = Sluice.openSync({ policy, store: new MemoryStore(), clock: () => 10_000 });
    expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
    const d = await sluice.record({ user: 'u' }, { status: 500, bytes: 40 });
    expect(d.rules.map((r) => [r.name, r.remaining])).toEqual([
      ['fails', 4],
      ['bytes', 60],
    ]);
    // A second failure of 60 bytes fills the byte rule: 100 − 40 − 60 = 0; fails 3.
    const e = await sluice.record({ user: 'u' }, { status: 500, bytes: 60 });
    expect(e.rules.map((r) => [r.name, r.remaining])).toEqual([
      ['fails', 3],
      ['bytes', 0],
    ]);
    await sluice.close();
  });
});
