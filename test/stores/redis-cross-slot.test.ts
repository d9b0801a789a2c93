/**
 * Requests whose rules live in different Cluster slots, on a real 3-master Cluster:
 *  - 4 processes × 1,000 concurrent checks of one user and one org (100/min per user, 50/min
 *    per org, the two keys in different slots) admit exactly 50 — the binding limit — in
 *    every one of 20 rounds. Charged in parallel, each process could win one slot and lose
 *    the other and be refunded, admitting fewer (0, 24, 26 were seen); a slot order fixes it.
 *  - a transaction whose admitted slot holds two ops on one key (the last write wins), while
 *    another slot refuses, leaves exactly the state runTransaction leaves (fast-check seed
 *    -1990367670 of redis.test.ts found it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { keySlot } from '../../src/stores/redis/slot.js';
import { KeySpace } from '../../src/stores/redis/keys.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { TxOp } from '../../src/stores/store.js';
import { RedisCluster, warnIfNoRedis } from '../helpers/redis-server.js';
import { bundle } from '../helpers/bundle.js';

const PROCESSES = 4;
const CHECKS = 1000;
const ROUNDS = 20;

interface Reply {
  round: number;
  admitted: number;
  errors: number;
}

/** A user and an org whose keys land in different slots (in alternating slot order from round to round). */
function valuesFor(round: number): { user: string; org: string } {
  const ks = new KeySpace('xslot:');
  for (let j = 0; ; j++) {
    const user = `u${round}-${j}`;
    const org = `o${round}-${j}`;
    const su = keySlot(ks.base(`per-user|${user}`));
    const so = keySlot(ks.base(`per-org|${org}`));
    if (su !== so && su < so === (round % 2 === 0)) return { user, org };
  }
}

describe.skipIf(!warnIfNoRedis('cross-slot requests on a Redis Cluster'))('cross-slot requests on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let script: string;
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    [cluster, script] = await Promise.all([RedisCluster.start(), bundle(new URL('./support/cross-slot-child.ts', import.meta.url))]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster?.destroy();
  });

  it(`${PROCESSES} processes × ${CHECKS} concurrent checks of two rules in two slots admit exactly the binding limit, ${ROUNDS} rounds of ${ROUNDS}`, async () => {
    const children: ChildProcess[] = [];
    const inbox: Reply[] = [];
    let wake: () => void = () => undefined;
    try {
      const ready: Promise<void>[] = [];
      for (let i = 0; i < PROCESSES; i++) {
        const c = fork(script, [cluster.url, String(CHECKS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(c);
        ready.push(new Promise((res, rej) => {
          c.once('message', (m) => (m === 'ready' ? res() : rej(new Error(String(m)))));
          c.once('exit', (code) => rej(new Error(`child exited early (${code})`)));
        }));
        c.on('message', (m) => {
          if (typeof m === 'object') {
            inbox.push(m as Reply);
            wake();
          }
        });
      }
      await Promise.all(ready);
      const admittedPerRound: number[] = [];
      const deadline = Date.now() + 100_000;
      for (let round = 0; round < ROUNDS; round++) {
        inbox.length = 0;
        const values = valuesFor(round);
        for (const c of children) c.send({ round, ...values });
        while (inbox.length < PROCESSES) {
          if (Date.now() > deadline) throw new Error(`round ${round}: no answer from every process in time`);
          await new Promise<void>((res) => {
            wake = res;
            setTimeout(res, 1000);
          });
        }
        expect(inbox.reduce((n, r) => n + r.errors, 0), `round ${round}: store errors`).toBe(0);
        admittedPerRound.push(inbox.reduce((n, r) => n + r.admitted, 0));
      }
      expect(admittedPerRound).toEqual(new Array(ROUNDS).fill(50));
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    }
  }, 120_000);

  it('two ops on one key in a slot that admitted, another slot refusing: the state runTransaction leaves', async () => {
    const redis = await connectRedisStore(cluster.url, { requireConnection: true, clock: 'client', timeoutMs: 2000, prefix: 'xslot-dup:' });
    stores.push(redis);
    const mem = new MemoryStore();
    const params = { limit: 3, windowMs: 10_000 };
    const op = (key: string, cost: number, mode: TxOp['mode']): TxOp => ({ key, tag: key.slice(key.indexOf('|') + 1), algorithm: 'sliding-log', params, cost, mode, shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });
    const ks = new KeySpace('xslot-dup:');
    // Either slot order: the refusing slot decided first, or last.
    for (const [a, b] of [['x', 'x|1'], ['p', 'p|q']]) {
      expect(keySlot(ks.base(`r|${a}`))).not.toBe(keySlot(ks.base(`r|${b}`)));
      const now = 1_700_000_000_000;
      const tx = [op(`r|${a}`, 1, 'take'), op(`r|${a}`, 2, 'force'), op(`r|${b}`, 4, 'take')];
      expect((await redis.apply(tx, now)).map((r) => r.allowed)).toEqual(mem.apply(tx, now).map((r) => r.allowed));
      for (let i = 0; i < 2; i++) {
        const one = [op(`r|${a}`, 1, 'take')];
        expect((await redis.apply(one, now + 1 + i))[0].allowed, `check ${i + 1} after`).toBe(mem.apply(one, now + 1 + i)[0].allowed);
      }
    }
  });
});
