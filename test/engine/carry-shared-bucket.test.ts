import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';

/**
 * A one-key `shared` rule keeps every subject without its key in one bucket, named `r|` (its
 * empty value). The memory store names that bucket's state by the rule alone, and a reload's
 * carry-over must still find the bucket's run-time override under `r|`: a sliding log → GCRA
 * reload of a bucket overridden to 10/1m that had used 7 kept it at 10 (3 left), not the rule's 5.
 */
const policy = (algorithm: string) =>
  loadPolicyText(`rules:\n  - name: r\n    key: account\n    limit: 5/1m\n    algorithm: ${algorithm}\n    on_missing_key: shared\n`, 'p.yaml');

describe('reload carry-over of a shared bucket', () => {
  it('reads the bucket override under the state key checks use', async () => {
    let now = 1_000;
    const store = new MemoryStore();
    const sluice = Sluice.openSync({ policy: policy('sliding-log'), store, clock: () => now });
    await store.setOverride({ key: 'r|', rule: 'r', keyValues: { account: '' }, limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 7; i++) expect(sluice.checkSync({}).allowed).toBe(true);
    now += 1;
    sluice.setPolicy(policy('gcra'));
    const after: boolean[] = [];
    for (let i = 0; i < 4; i++) after.push(sluice.checkSync({}).allowed);
    // 10 − 7 = 3 left under the override; the rule's own 5 would have left none (or refused all four).
    expect(after).toEqual([true, true, true, false]);
    await sluice.close();
  });
});
