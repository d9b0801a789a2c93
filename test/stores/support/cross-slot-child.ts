/**
 * Child process for the cross-slot race (redis-cross-slot.test.ts). One engine on a Redis
 * Cluster with two rules, 100/min per user and 50/min per org. For every { round, user, org }
 * the parent sends, it fires `n` concurrent checks of that user and org (their keys in two
 * different slots) and answers how many were admitted and how many failed.
 */
import { Sluice } from '../../../src/engine/sluice.js';
import { connectRedisStore } from '../../../src/stores/redis/connection.js';

const [url, nStr] = process.argv.slice(2);
const store = await connectRedisStore(url, { prefix: 'xslot:', requireConnection: true, timeoutMs: 5000, connectTimeoutMs: 15_000 });
const policy = `
version: 1
rules:
  - name: per-user
    key: [user]
    limit: 100/1m
  - name: per-org
    key: [org]
    limit: 50/1m
`;
const sluice = await Sluice.open({ policy, store });
process.on('message', (m: unknown) => {
  if (m === 'stop') {
    void sluice.close().then(() => process.disconnect());
    return;
  }
  const { round, user, org } = m as { round: number; user: string; org: string };
  const errorsBefore = sluice.counters.storeErrors;
  void Promise.all(Array.from({ length: Number(nStr) }, () => sluice.check({ user, org }))).then((ds) => {
    process.send!({ round, admitted: ds.filter((d) => d.allowed).length, errors: sluice.counters.storeErrors - errorsBefore });
  });
});
process.send!('ready');
