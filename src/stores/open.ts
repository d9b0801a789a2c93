import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import { connectRedisStore, redact, type ConnectOptions } from './redis/connection.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions extends ConnectOptions, MemoryStoreOptions, SqliteStoreOptions {
  /** Redis: throw when Redis cannot be reached at startup (default: start anyway and fall back). */
  requireConnection?: boolean;
}

/**
 * Opens a store from a spec string:
 *   'memory'                                   in-process (bounded)
 *   'sqlite' | 'sqlite:./data/sluice.db'       embedded durable file (WAL); the directory is created;
 *                                              ?synchronous=full also survives a power cut (see SqliteStoreOptions)
 *   'redis://host:6379/0' | 'rediss://…'       Redis single node (TLS with rediss)
 *   'redis+sentinel://h:26379,h:26379/master'  Redis behind Sentinel
 *   'redis+cluster://h:7000,h:7001,…'          Redis Cluster
 * Redis strings take ?timeout=250&prefix=sluice:&clock=server (see redis/connection.ts).
 */
export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const s = spec.trim();
  if (s === 'memory') return new MemoryStore(opts);
  if (s === 'sqlite' || s.startsWith('sqlite:')) {
    let path = s === 'sqlite' ? '' : s.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite://path
    const q = path.indexOf('?');
    const query = q < 0 ? undefined : new URLSearchParams(path.slice(q + 1));
    if (q >= 0) path = path.slice(0, q);
    return new SqliteStore(path || './data/sluice.db', { ...opts, ...sqliteQuery(query) });
  }
  if (/^rediss?(\+(sentinel|cluster))?:\/\//i.test(s)) return connectRedisStore(s, opts);
  throw new Error(`Unknown store "${redact(s)}": use memory, sqlite:<file>, redis://…, rediss://…, redis+sentinel://… or redis+cluster://…`);
}

/** The options a sqlite spec may carry in its query string: ?synchronous=normal|full. */
function sqliteQuery(query: URLSearchParams | undefined): SqliteStoreOptions {
  if (query === undefined) return {};
  const out: SqliteStoreOptions = {};
  for (const [name, value] of query) {
    if (name === 'synchronous' && (value === 'normal' || value === 'full')) out.synchronous = value;
    else throw new Error(`Unknown sqlite store option "${name}=${value}": use ?synchronous=normal or ?synchronous=full`);
  }
  return out;
}
