import type { Cluster, Redis } from 'ioredis';
import type { OpResult, StateRef, Store, StoredOverride, TxOp } from '../store.js';
import { Batcher, type Finish } from './batcher.js';
import { decodeResults, decodeTx, encodeOps, scaleReadableInScript } from './encode.js';
import { applyMultiSlot, type MultiSlotContext } from './multi-slot.js';
import { Instances, type InstancesOptions } from './instances.js';
import { KeySpace, STATE_SUFFIX } from './keys.js';
import { createHash } from 'node:crypto';
import { stepLua, transactionLibrary, transactionLua } from './lua/transaction.js';
import { overrideDeleteLua, overrideListLua, overrideSetLua, stateCasLua } from './lua/overrides.js';
import { keySlot } from './slot.js';
import { LeanConnection } from './lean-connection.js';
import { bulk } from './resp.js';
import { decodeState, encodeState } from './state-codec.js';
import type { AsyncStateRewrite } from '../store.js';

export interface RedisStoreOptions {
  /** Prefix of every key Sluice writes. Default "sluice:". */
  prefix?: string;
  /**
   * Every apply() settles within about this many ms (default 250): the ioredis command
   * timeout, and the longest a transaction may wait for a free pipeline slot. The engine's
   * on_store_error fallback then decides.
   */
  timeoutMs?: number;
  /**
   * 'server' (default): decisions use the Redis server's clock (TIME inside the script), so
   * instances whose clocks disagree still agree. 'client': the `now` passed to apply()
   * (tests with an injected clock, and the differential tests).
   */
  clock?: 'server' | 'client';
  /** Script calls outstanding at once before transactions queue up for the next call. Default 8. */
  maxInFlight?: number;
  /** Transactions per script call at most. Default 128. */
  maxBatch?: number;
  /** Called on connection errors and failed refunds (for logs). */
  onError?: (error: unknown) => void;
  /** Tests: append each op's stored state to the reply (see `applyDebug`). */
  debug?: boolean;
  /**
   * Heartbeats that count the instances sharing this Redis (instances.ts), for the engine's
   * fallback share. With clock: 'client', beats are stamped with `clock` (default Date.now).
   */
  instances?: InstancesOptions & { clock?: () => number };
  /**
   * Single node without TLS: send the transaction calls over a second, bare connection
   * (lean-connection.ts) instead of through ioredis. Default true; false: ioredis only.
   */
  leanConnection?: boolean;
}

type Client = Redis | Cluster;
type ScriptClient = Client & {
  /** Buffer replies: each transaction's results come back as one binary string. */
  sluiceTxBuffer(...args: (string | number)[]): Promise<unknown[]>;
  sluiceStep(...args: (string | number)[]): Promise<string>;
  sluiceOvSet(k: string, index: string, value: string, field: string, json: string, px: string): Promise<number>;
  sluiceOvDel(k: string, index: string, field: string): Promise<number>;
  sluiceOvList(index: string, now: string): Promise<string[]>;
  sluiceCas(k: string, old: Buffer, next: Buffer | string, px: string): Promise<number>;
};

/** The transaction as a Redis Functions library, named after a hash of its code. */
const LIBRARY = transactionLibrary(createHash('sha1').update(transactionLua).digest('hex').slice(0, 12));

/** How long keys outlive their window (as in the script): 1 s on the server clock, a minute on a caller's clock. */
const SLACK = 1000;
const CLIENT_CLOCK_SLACK = 60_000;

/**
 * The Redis store (single node, Sentinel or Cluster, through ioredis; on a single node without
 * TLS the transaction calls take a lean connection of their own, lean-connection.ts).
 *
 * A transaction is decided by one Lua script (lua/transaction.ts) that mirrors
 * runTransaction line by line, reading run-time overrides and scale attributes inside
 * the script, on the Redis server's clock. On Redis ≥ 7 the script is a Functions library,
 * loaded once per server (FUNCTION LOAD, on every Cluster master) and called by FCALL, so
 * its helpers are not defined again on every call; it is loaded again when a server answers
 * that it does not know it (a restart, a failover to a new master). On older Redis (or
 * where FUNCTION is refused) it is sent once per connection and called by EVALSHA (ioredis
 * re-sends it after NOSCRIPT). Concurrent transactions are batched into few calls (batcher.ts).
 *
 * Atomicity:
 *  - single node and Sentinel: a whole transaction, whatever its keys, is decided in one
 *    script call: all-or-nothing, exactly as runTransaction.
 *  - Cluster, every key of the transaction in one hash slot (rules keyed on the same
 *    values share a tag, so share a slot): the same, one script call.
 *  - Cluster, keys in several slots: see multi-slot.ts — the slots are decided one after
 *    another in ascending slot order, each atomically on its own, a slot charged only after
 *    the ones before it admitted; when one refuses, the charges the earlier ones took are
 *    given back. Never admits a request some rule refused, never leaves a refused request
 *    charged once the corrections land, and racing requests do not starve each other.
 */
export class RedisStore implements Store {
  readonly name: string;
  readonly client: Client;
  readonly keys: KeySpace;
  readonly cluster: boolean;
  private readonly batcher: Batcher;
  /** What the multi-slot path (multi-slot.ts) uses of this store. */
  private readonly multiSlot: MultiSlotContext;
  private readonly clientClock: boolean;
  private readonly timeoutMs: number;
  private readonly onError?: (e: unknown) => void;
  private readonly debug: boolean;
  private closed = false;
  /** The instances sharing this Redis, counted by heartbeats. */
  readonly instances: Instances;
  /** How transactions are called: not known until the first call tries FUNCTION LOAD. */
  private callMode: 'unknown' | 'function' | 'script' = 'unknown';
  private loading?: Promise<void>;
  /** onInvalidate listeners, and the connection that hears other instances' news (opened for the first listener). */
  private readonly invalidateListeners = new Set<(keys: readonly string[] | 'all') => void>();
  private subscriber?: Client;
  /** The bare connection the transaction calls take when it is up (single node, no TLS), or undefined. */
  readonly lean?: LeanConnection;
  /** Counters for metrics. errors: transactions Redis did not answer (or answered malformed), each counted once. */
  readonly stats = { errors: 0, connectionErrors: 0, multiSlot: 0, refunds: 0, refundErrors: 0 };

  constructor(client: Client, opts: RedisStoreOptions = {}) {
    this.client = client;
    this.cluster = client.isCluster;
    this.name = this.cluster ? 'redis-cluster' : 'redis';
    this.keys = new KeySpace(opts.prefix ?? 'sluice:');
    this.clientClock = opts.clock === 'client';
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.onError = opts.onError;
    this.debug = opts.debug ?? false;
    client.defineCommand('sluiceTx', { lua: transactionLua });
    client.defineCommand('sluiceStep', { lua: stepLua, numberOfKeys: 0 });
    client.defineCommand('sluiceOvSet', { lua: overrideSetLua, numberOfKeys: 2 });
    client.defineCommand('sluiceOvDel', { lua: overrideDeleteLua, numberOfKeys: 2 });
    client.defineCommand('sluiceOvList', { lua: overrideListLua, numberOfKeys: 1 });
    client.defineCommand('sluiceCas', { lua: stateCasLua, numberOfKeys: 1 });
    this.instances = new Instances(client, this.keys.instances, opts.instances, this.clientClock ? (opts.instances?.clock ?? Date.now) : undefined);
    // An 'error' listener keeps connection errors from being reported as unhandled;
    // ioredis reconnects on its own and the store is used again as soon as it is back.
    client.on('error', (e: unknown) => {
      this.stats.connectionErrors++;
      this.onError?.(e);
    });
    const sc = client as ScriptClient;
    const debugFlag = this.debug ? '1' : '0';
    // Single node: the script skips override lookups while the override index does not exist.
    // Cluster: a script reads only its own slot's keys, so it always looks them up.
    const index = this.keys.overrideIndex;
    const script = (keys: string[], args: string[]): Promise<unknown[]> =>
      this.cluster ? sc.sluiceTxBuffer(keys.length, ...keys, debugFlag, ...args) : sc.sluiceTxBuffer(keys.length + 1, ...keys, index, `${debugFlag}x`, ...args);
    const lean = (this.lean = opts.leanConnection === false ? undefined : leanConnectionFor(client, this.timeoutMs, this.onError));
    if (lean !== undefined) {
      // Up with ioredis (and again after each of its reconnects); a call finding it down connects it too.
      if (client.status === 'ready') lean.connect();
      client.on('ready', () => lean.connect());
    }
    const fcallHead = bulk('FCALL') + bulk(LIBRARY.fn);
    const fcallTail = bulk(index) + bulk(`${debugFlag}x`);
    const fcall = (keys: string[], args: string[]): Promise<unknown[]> => {
      if (lean !== undefined) {
        if (lean.ready) {
          // FCALL fn nkeys keys… index flags args…, as below, written straight to the socket.
          let text = `*${keys.length + args.length + 5}\r\n${fcallHead}${bulk(String(keys.length + 1))}`;
          for (let i = 0; i < keys.length; i++) text += bulk(keys[i]);
          text += fcallTail;
          for (let i = 0; i < args.length; i++) text += bulk(args[i]);
          return lean.call(text) as Promise<unknown[]>;
        }
        lean.connect();
      }
      return (
        this.cluster
          ? client.callBuffer('FCALL', LIBRARY.fn, keys.length, ...keys, debugFlag, ...args)
          : client.callBuffer('FCALL', LIBRARY.fn, keys.length + 1, ...keys, index, `${debugFlag}x`, ...args)
      ) as Promise<unknown[]>;
    };
    const send = (keys: string[], args: string[]): Promise<unknown[]> => {
      if (this.callMode === 'script') return script(keys, args);
      if (this.callMode === 'unknown') return this.loadLibrary().then(() => send(keys, args));
      // A server that lost the library (restarted, or a new master after a failover) gets it again, once per call.
      return fcall(keys, args).catch((e: unknown) => (functionMissing(e) ? this.loadLibrary(true).then(() => fcall(keys, args)) : Promise.reject(e)));
    };
    this.batcher = new Batcher(
      (_slot, keys, args) => {
        if (this.closed) return Promise.reject(new Error('sluice redis store: closed'));
        return send(keys, args);
      },
      { maxInFlight: opts.maxInFlight ?? 8, maxBatch: opts.maxBatch ?? 128, timeoutMs: this.timeoutMs, onFail: () => this.stats.errors++ },
    );
    this.multiSlot = { client, keys: this.keys, cluster: this.cluster, batcher: this.batcher, timeoutMs: this.timeoutMs, stats: this.stats, onError: this.onError };
  }

  /** How transactions are called: FCALL (Redis Functions), EVALSHA (older Redis), or not known yet. */
  get callKind(): 'function' | 'script' | 'unknown' {
    return this.callMode;
  }

  /**
   * Loads the Functions library on the server (every Cluster master). A server that refuses
   * FUNCTION (Redis < 7, or an ACL) puts the store on EVALSHA for good; a connection error
   * leaves the mode unknown, for the next call to try again.
   */
  private loadLibrary(again = false): Promise<void> {
    if (!again && this.callMode !== 'unknown') return Promise.resolve();
    return (this.loading ??= (async () => {
      try {
        const nodes: Redis[] = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
        await Promise.all(nodes.map((n) => n.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.code)));
        this.callMode = 'function';
      } catch (e) {
        if (!isReplyError(e)) throw e;
        this.callMode = 'script';
      } finally {
        this.loading = undefined;
      }
    })());
  }

  get batchStats(): { calls: number; transactions: number; expired: number } {
    return this.batcher.stats;
  }

  apply(ops: readonly TxOp[], now: number): Promise<OpResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    const at = this.clientClock ? now : undefined;
    let slot = 0;
    if (this.cluster) {
      slot = this.singleSlot(ops);
      if (slot < 0) return this.applyMultiSlot(ops, at);
    } else {
      for (let i = 0; i < ops.length; i++) if (!scaleReadableInScript(ops[i])) return this.applyMultiSlot(ops, at);
    }
    const enc = encodeOps(ops, at, this.keys);
    return this.batcher.submit(slot, enc.keys, enc.arg, enc.nops, resultsOf);
  }

  /**
   * Like apply (single-slot transactions only), also telling the instant the transaction was
   * decided at: the Redis server's clock (or `now` with clock: 'client'). For audit logs and tests.
   */
  async applyTimed(ops: readonly TxOp[], now: number): Promise<{ results: OpResult[]; now: number }> {
    const at = this.clientClock ? now : undefined;
    const enc = encodeOps(ops, at, this.keys);
    const slot = this.cluster ? this.singleSlot(ops) : 0;
    if (slot < 0) throw new Error('applyTimed: ops span several slots');
    return this.batcher.submit(slot, enc.keys, enc.arg, enc.nops, (text, serverNow, n, offset) => ({ results: decodeResults(text, n, offset), now: at ?? serverNow ?? Date.now() }));
  }

  /** Tests: like apply, with the state each op's key holds afterwards (requires `debug: true`). */
  async applyDebug(ops: readonly TxOp[], now: number): Promise<{ results: OpResult[]; states: (number[] | null)[] }> {
    if (!this.debug) throw new Error('applyDebug needs a store opened with debug: true');
    const enc = encodeOps(ops, this.clientClock ? now : undefined, this.keys);
    const slot = this.cluster ? this.singleSlot(ops) : 0;
    if (slot < 0) throw new Error('applyDebug: ops span several slots');
    const d = await this.batcher.submit(slot, enc.keys, enc.arg, enc.nops, (text, _now, n) => decodeTx(text, n));
    return { results: d.results, states: d.states ?? [] };
  }

  /** Tests: one step of an algorithm's Lua twin. */
  async stepLua(alg: number, state: readonly number[] | null, now: number, cost: number, mode: string, p: { limit: number; windowMs: number; burst?: number; buckets?: number }): Promise<string> {
    const s = state ? state.map((x) => String(x)).join(',') : '';
    return (this.client as ScriptClient).sluiceStep(alg, String(now), String(cost), mode, String(p.limit), String(p.windowMs), p.burst === undefined ? '-' : String(p.burst), p.buckets === undefined ? '-' : String(p.buckets), s);
  }

  /** The slot every key of the transaction hashes to, or -1 when they span several (or an attribute must be read by the caller). */
  private singleSlot(ops: readonly TxOp[]): number {
    let slot = -1;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const s = keySlot(this.keys.base(op.key, op.tag));
      if (slot === -1) slot = s;
      else if (s !== slot) return -1;
      if (op.blockKey !== undefined && keySlot(this.keys.base(op.blockKey)) !== slot) return -1;
      if (op.scale && (!scaleReadableInScript(op) || keySlot(this.keys.attributes(op.scale.entity)) !== slot)) return -1;
    }
    return slot;
  }

  private applyMultiSlot(ops: readonly TxOp[], at: number | undefined): Promise<OpResult[]> {
    return applyMultiSlot(this.multiSlot, ops, at);
  }

  // ---- invalidation news (for local caches such as the engine's refused-keys cache) ----

  onInvalidate(listener: (keys: readonly string[] | 'all') => void): () => void {
    this.invalidateListeners.add(listener);
    if (this.subscriber === undefined && !this.closed) {
      // Its own connection (a subscribed one can do nothing else), queueing the SUBSCRIBE until
      // it is up; ioredis subscribes again after every reconnect.
      const sub: Client =
        this.client.isCluster
          ? (this.client as Cluster).duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false })
          : (this.client as Redis).duplicate({ enableOfflineQueue: true, lazyConnect: false });
      this.subscriber = sub;
      sub.on('error', () => undefined); // the main connection reports errors; this one reconnects on its own
      sub.on('message', (_channel: string, text: string) => {
        let keys: readonly string[] | 'all';
        try {
          const parsed = JSON.parse(text) as unknown;
          keys = parsed === 'all' ? 'all' : Array.isArray(parsed) ? parsed.map(String) : 'all';
        } catch {
          keys = 'all';
        }
        this.tell(keys);
      });
      sub.subscribe(this.keys.invalidateChannel).catch(() => undefined);
    }
    return () => this.invalidateListeners.delete(listener);
  }

  /**
   * Tells this process's listeners at once, and every other instance through pub/sub. Redis
   * hands the message to every subscriber before it answers PUBLISH, so once the admin write
   * resolves the news is on its way to all of them (a lost PUBLISH is not an error of the write).
   */
  private async invalidate(keys: readonly string[] | 'all'): Promise<void> {
    this.tell(keys);
    await this.client.publish(this.keys.invalidateChannel, JSON.stringify(keys)).catch(() => undefined);
  }

  private tell(keys: readonly string[] | 'all'): void {
    for (const l of this.invalidateListeners) l(keys);
  }

  // ---- admin ----

  /**
   * Takes effect for every decision decided after it resolves. On a single node (and Sentinel)
   * the override and its index entry are written by one script, atomically, so concurrent PUTs
   * and DELETEs on several instances never leave an override applied but not listed (or listed
   * but not applied). In a Cluster they live in different slots: the override key is written
   * before the index entry, and deleted with it.
   */
  async setOverride(o: StoredOverride): Promise<void> {
    const value = o.expiresAt === undefined ? `${o.limit},${o.windowMs}` : `${o.limit},${o.windowMs},${o.expiresAt}`;
    const k = this.keys.override(o.key);
    const px = o.expiresAt === undefined ? '' : String(Math.max(1, Math.ceil(o.expiresAt - Date.now())) + 60_000);
    const json = JSON.stringify(o);
    if (!this.cluster) {
      await (this.client as ScriptClient).sluiceOvSet(k, this.keys.overrideIndex, value, o.key, json, px);
      await this.invalidate([o.key]);
      return;
    }
    if (px === '') await this.client.set(k, value);
    else await this.client.set(k, value, 'PX', px);
    await this.client.hset(this.keys.overrideIndex, o.key, json);
    await this.invalidate([o.key]);
  }

  async deleteOverride(key: string): Promise<boolean> {
    if (!this.cluster) {
      const n = await (this.client as ScriptClient).sluiceOvDel(this.keys.override(key), this.keys.overrideIndex, key);
      await this.invalidate([key]);
      return n > 0;
    }
    const [a, b] = await Promise.all([this.client.del(this.keys.override(key)), this.client.hdel(this.keys.overrideIndex, key)]);
    await this.invalidate([key]);
    return a + b > 0;
  }

  /** The overrides in force on the decisions' clock (the server's, or `now` with clock: 'client'); expired ones leave the index. */
  async listOverrides(now?: number): Promise<StoredOverride[]> {
    const at = this.clientClock && now !== undefined ? String(now) : '-';
    const flat = await (this.client as ScriptClient).sluiceOvList(this.keys.overrideIndex, at);
    const out: StoredOverride[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push(JSON.parse(flat[i + 1]) as StoredOverride);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void> {
    const k = this.keys.attributes(entity);
    const set: string[] = [];
    const del: string[] = [];
    for (const [name, v] of Object.entries(attrs)) {
      if (v === null) del.push(name);
      else set.push(name, String(v));
    }
    if (set.length) await this.client.hset(k, ...set);
    if (del.length) await this.client.hdel(k, ...del);
    await this.invalidate('all');
  }

  async getAttributes(entity: string): Promise<Record<string, number>> {
    const all = await this.client.hgetall(this.keys.attributes(entity));
    const out: Record<string, number> = {};
    for (const [name, v] of Object.entries(all)) out[name] = Number(v);
    return out;
  }

  async reset(keys: readonly string[]): Promise<number> {
    const counts = await Promise.all(keys.map((k) => this.client.del(this.keys.state(k))));
    await this.invalidate(keys);
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Carries a rule's states over at a reload that changes how the rule counts: SCAN every master
   * for the rule's state keys, rewrite each, and write it back only if no decision changed it
   * meanwhile (compare-and-set; a changed one is read again). Decisions of the instance wait for
   * it (see Sluice.setPolicy); its commands follow this instance's decisions already sent on the
   * same connection, so those land first and are carried over too. Other instances still on the
   * old policy may write a state in the old algorithm's shape until they reload as well.
   */
  async rewriteStatesAsync(ns: string, rewrite: AsyncStateRewrite, now: number): Promise<number> {
    // Decisions already sent on the lean connection land before the SCAN and the reads below.
    await this.lean?.idle();
    const nodes: Redis[] = this.cluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const slack = this.clientClock ? CLIENT_CLOCK_SLACK : SLACK;
    let n = 0;
    for (const node of nodes) {
      for (const pattern of [`${this.keys.prefix}*:${ns}|*${STATE_SUFFIX}`, `${this.keys.prefix}*:${ns}${STATE_SUFFIX}`]) {
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          for (const k of batch) {
            const key = this.stateKeyOf(k, ns);
            if (key === undefined) continue; // a glob match inside another rule's key values
            for (let attempt = 0; attempt < 5; attempt++) {
              const raw = await this.client.getBuffer(k);
              if (raw === null) break;
              const state = decodeState(raw);
              if (state === null) break;
              const r = await rewrite(state, key);
              const ttl = Math.max(1, Math.ceil(r.expiresAt - now)) + slack;
              const value = r.state === null ? '' : encodeState(r.state, now + ttl);
              if ((await (this.client as ScriptClient).sluiceCas(k, raw, value, String(ttl))) === 1) break;
            }
            n++;
          }
        } while (cursor !== '0');
      }
    }
    // Anything remembered about the rule's keys (a refused-key cache) is from before the carry-over.
    if (n > 0) await this.invalidate('all');
    return n;
  }

  /** The state key ("<ns>" or "<ns>|<values>") a physical key holds a state of, if it is one of the namespace (rule) `ns`. */
  private stateKeyOf(k: string, ns: string): string | undefined {
    if (k === this.keys.state(ns)) return ns;
    for (let i = k.indexOf(`:${ns}|`); i >= 0; i = k.indexOf(`:${ns}|`, i + 1)) {
      const key = k.slice(i + 1, k.length - STATE_SUFFIX.length);
      if (this.keys.state(key) === k) return key;
    }
    return undefined;
  }

  /** Admin reads (inspect): the states these keys hold, and the instant on the clock that wrote them (TIME, as the script reads it). */
  async readStates(refs: readonly StateRef[], now: number): Promise<{ states: (readonly number[] | null)[]; now: number }> {
    const [raws, time] = await Promise.all([Promise.all(refs.map((r) => this.client.getBuffer(this.keys.state(r.key)))), this.clientClock ? undefined : this.client.time()]);
    return { states: raws.map(decodeState), now: time ? Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) : now };
  }

  /** Keys holding state (SCAN over every master; for metrics, not for hot paths). */
  async size(): Promise<number> {
    const nodes: Redis[] = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const pattern = `${this.keys.prefix}{*`;
    let n = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // Only states in the current format: text states of format 1 are never read again.
        for (const k of batch) if (k.endsWith(STATE_SUFFIX) && !k.includes('}:@')) n++;
      } while (cursor !== '0');
    }
    return n;
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** Instances sharing this Redis, as the last heartbeat counted them (the fallback takes limit ÷ this). */
  liveInstances(): number {
    return this.instances.count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batcher.close(new Error('sluice redis store: closed'));
    this.lean?.close();
    this.invalidateListeners.clear();
    this.subscriber?.disconnect();
    try {
      await Promise.race([this.instances.stop().then(() => this.client.quit()), new Promise((res) => setTimeout(res, this.timeoutMs).unref())]);
    } catch {
      // already gone
    }
    this.client.disconnect();
  }
}

/**
 * A lean connection for a single-node ioredis client, with its host, port, user, password and
 * database; none for Cluster, Sentinel, TLS, a Unix socket or a key prefix (ioredis's own).
 */
function leanConnectionFor(client: Client, timeoutMs: number, onError: ((e: unknown) => void) | undefined): LeanConnection | undefined {
  if (client.isCluster) return undefined;
  const o = (client as Redis).options;
  if (o.sentinels || o.tls || o.path || o.keyPrefix) return undefined;
  return new LeanConnection({
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 6379,
    ...(o.username ? { username: o.username } : {}),
    // As ioredis: an empty password sends no AUTH.
    ...(o.password ? { password: o.password } : {}),
    ...(o.db ? { db: o.db } : {}),
    timeoutMs,
    connectTimeoutMs: o.connectTimeout ?? 2000,
    ...(onError ? { onError } : {}),
  });
}

/** The server answered (it refused the command), as opposed to a connection failing. */
function isReplyError(e: unknown): boolean {
  return e instanceof Error && e.name === 'ReplyError';
}

function functionMissing(e: unknown): boolean {
  return isReplyError(e) && /function not found/i.test((e as Error).message);
}

const resultsOf: Finish<OpResult[]> = (text, _serverNow, n, offset) => decodeResults(text, n, offset);
