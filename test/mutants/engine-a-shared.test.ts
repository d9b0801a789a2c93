import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';

/** A `shared` rule counts every subject lacking its key in one bucket (key ""): each entry of the engine fills the subject first. */
describe('a shared rule, through every entry', () => {
  const policy = {
    rules: [
      { name: 'req', key: 'user', limit: '3/1m', algorithm: 'fixed-window', on_missing_key: 'shared' },
      { name: 'fails', key: 'user', limit: '5/1m', count: 'failure', on_missing_key: 'shared' },
    ],
  };

  it('check and checkSync charge the shared bucket', async () => {
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    expect((await sluice.check({})).rules.map((r) => [r.name, r.remaining])).toEqual([
      ['req', 2],
      ['fails', 5],
    ]);
    expect(sluice.checkSync({}).rules.map((r) => [r.name, r.remaining])).toEqual([
      ['req', 1],
      ['fails', 5],
    ]);
  });

  it('record charges the same shared bucket a check reads; refund gives back to the one a check charged', async () => {
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    for (let i = 0; i < 5; i++) await sluice.record({}, { status: 500 });
    // The bucket the check asks is the one the records filled: none more fits.
    const d = sluice.checkSync({});
    expect([d.allowed, d.rule]).toEqual([false, 'fails']);
    const other = Sluice.openSync({ policy, clock: () => 10_000 });
    other.checkSync({});
    await other.refund({});
    expect(other.checkSync({}).rules.map((r) => [r.name, r.remaining])).toEqual([
      ['req', 2],
      ['fails', 5],
    ]);
  });

  it('keysFor and peek name the bucket "rule|"; skipped lists nothing (the rules apply)', async () => {
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    expect(sluice.keysFor({}).map((k) => k.key)).toEqual(['req|', 'fails|']);
    expect((await sluice.peek({})).map((p) => p.key)).toEqual(['req|', 'fails|']);
    expect(sluice.skipped({})).toEqual([]);
  });
});
