/**
 * Child process for the multi-process accuracy tests. Talks to the parent over IPC:
 *   burst:  after 'go', fires `n` concurrent checks on one key; reports how many were admitted.
 *   random: for `ms`, fires random bursts of checks; reports the Redis server time of every
 *           admitted check (from the script call that decided it).
 */
import { Sluice } from '../../../src/engine/sluice.js';
import { connectRedisStore } from '../../../src/stores/redis/connection.js';
import type { RedisStore } from '../../../src/stores/redis/redis.js';
import type { OpResult, Store, StoredOverride, TxOp } from '../../../src/stores/store.js';

const [url, mode, algorithm, prefix, nStr, limit, msStr] = process.argv.slice(2);

/** Delegates to the Redis store and logs the server time of each admitted transaction. */
class LoggingStore implements Store {
  readonly name = 'redis-logged';
  readonly admitted: number[] = [];
  constructor(private readonly inner: RedisStore) {}
  async apply(ops: readonly TxOp[], now: number): Promise<OpResult[]> {
    const r = await this.inner.applyTimed(ops, now);
    if (r.results.every((x) => x.allowed)) this.admitted.push(r.now);
    return r.results;
  }
  setOverride(o: StoredOverride) { return this.inner.setOverride(o); }
  deleteOverride(k: string) { return this.inner.deleteOverride(k); }
  listOverrides() { return this.inner.listOverrides(); }
  setAttributes(e: string, a: Record<string, number | null>) { return this.inner.setAttributes(e, a); }
  getAttributes(e: string) { return this.inner.getAttributes(e); }
  reset(k: readonly string[]) { return this.inner.reset(k); }
  size() { return this.inner.size(); }
  ping() { return this.inner.ping(); }
  close() { return this.inner.close(); }
}

// A generous connect timeout: four children connect at once to a Cluster on a loaded machine.
const redis = await connectRedisStore(url, { prefix, requireConnection: true, timeoutMs: 5000, connectTimeoutMs: 15_000 });
const store = new LoggingStore(redis);
const policy = `
version: 1
rules:
  - name: shared
    key: [k]
    limit: ${limit}
    algorithm: ${algorithm}
`;
const sluice = await Sluice.open({ policy, store });
const go = new Promise<void>((resolve) => process.on('message', (m) => m === 'go' && resolve()));
process.send!('ready');
await go;

if (mode === 'burst') {
  const ds = await Promise.all(Array.from({ length: Number(nStr) }, () => sluice.check({ k: 'hot' })));
  process.send!({ admitted: ds.filter((d) => d.allowed).length, admittedAt: store.admitted, errors: sluice.counters.storeErrors });
} else {
  const end = Date.now() + Number(msStr);
  let calls = 0;
  while (Date.now() < end && calls < 20_000) {
    const k = 1 + Math.floor(Math.random() * 12);
    calls += k;
    await Promise.all(Array.from({ length: k }, () => sluice.check({ k: 'hot' })));
    await new Promise((r) => setTimeout(r, Math.random() * 40));
  }
  process.send!({ admittedAt: store.admitted, calls, errors: sluice.counters.storeErrors });
}
await sluice.close();
process.disconnect();
