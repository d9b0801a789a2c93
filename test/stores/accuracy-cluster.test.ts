/**
 * Exactly-N on a real 3-master Redis Cluster, with the store on Redis Functions: 4 OS
 * processes × 1,000 concurrent checks of one key with a limit of 100 per minute admit
 * exactly 100, for each exact algorithm (the single-node twin is accuracy.test.ts).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { RedisCluster, warnIfNoRedis } from '../helpers/redis-server.js';
import { bundle } from '../helpers/bundle.js';
import { expectExactly100, race } from './support/race.js';

describe.skipIf(!warnIfNoRedis('multi-process accuracy on a Redis Cluster'))('multi-process accuracy on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let script: string;
  beforeAll(async () => {
    [cluster, script] = await Promise.all([RedisCluster.start(), bundle(new URL('./support/accuracy-child.ts', import.meta.url))]);
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  for (const algorithm of ['sliding-log', 'gcra', 'fixed-window', 'rolling-quota'] as const) {
    it(`${algorithm}: 4 processes × 1,000 concurrent checks, limit 100/min → exactly 100 admitted`, async () => {
      // A fixed window must not roll over mid-race: start well inside a minute (all masters share this host's clock).
      if (algorithm === 'fixed-window' && Date.now() % 60_000 > 55_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 200));
      const replies = await race(script, [cluster.url, 'burst', algorithm, `accc-${algorithm}:`, '1000', '100/1m']);
      expectExactly100(replies, algorithm);
    }, 60_000);
  }
});
