import { afterAll, beforeAll, describe } from 'vitest';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { openStore } from '../../src/stores/open.js';
import { RedisCluster, RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';
import { storeContract } from './contract.js';

let n = 0;
const prefix = () => `t${process.pid}-${n++}:`;

describe.skipIf(!warnIfNoRedis('store contract on Redis (single node and cluster)'))('redis stores', () => {
  let server: RedisServer | undefined;
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    [server, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.destroy(), cluster?.destroy()]);
  });

  storeContract('redis single node', () => connectRedisStore(server!.url, { prefix: prefix(), clock: 'client', requireConnection: true, timeoutMs: 2000 }));
  storeContract('redis cluster (3 masters)', () => openStore(`${cluster!.url}?clock=client&timeout=2000&prefix=${prefix()}`, { requireConnection: true }));
});
