/**
 * The Redis deployments the README names, tested against real servers instead of parsed
 * URLs: Redis over TLS (a certificate this test makes with openssl) and Sentinel failing a
 * real primary over to its replica.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { freePort, RedisSentinel, RedisServer, waitUntil, warnIfNoRedis } from '../helpers/redis-server.js';

const policy = {
  rules: [
    { name: 'per-account', key: ['account'], limit: '3/1m' },
    { name: 'per-org', key: ['org'], limit: '100/1m', on_store_error: 'closed' },
  ],
};

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('\n!! SKIPPED: Redis over TLS — openssl not found, so no certificate could be made (apt-get install openssl)\n');
    return false;
  }
}

const hasRedis = warnIfNoRedis('Redis over TLS and Sentinel failover');

describe.runIf(hasRedis && hasOpenssl())('Redis over TLS (rediss://)', () => {
  let dir: string;
  let redis: RedisServer;
  let tlsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sluice-test-ca');
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
    tlsPort = await freePort();
    // The plain port stays open for the helper's readiness PING; Sluice talks TLS only.
    redis = await RedisServer.start({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no'],
    });
  });
  afterAll(async () => {
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decides in Redis over a verified TLS connection, shared by two engines', async () => {
    const url = `rediss://127.0.0.1:${tlsPort}?tlsCa=${join(dir, 'ca.crt')}&timeout=2000`;
    const errors: unknown[] = [];
    const a = await Sluice.open({ policy, store: url, onStoreError: (e) => errors.push(e) });
    const b = await Sluice.open({ policy, store: url, onStoreError: (e) => errors.push(e) });
    const allowed = [];
    for (const s of [a, b, a, b]) allowed.push((await s.check({ account: 'acme' })).allowed);
    expect(allowed).toEqual([true, true, true, false]);
    expect(errors).toEqual([]);
    expect(redis.cli('DBSIZE').trim()).not.toBe('0');
    await a.close();
    await b.close();
  });

  it('refuses a server whose certificate it cannot verify: fail-open rules fall back, fail-closed ones answer 503', async () => {
    const errors: unknown[] = [];
    const s = await Sluice.open({ policy, store: `rediss://127.0.0.1:${tlsPort}?timeout=500`, onStoreError: (e) => errors.push(e) });
    const open = await s.check({ account: 'other' });
    expect(open.allowed).toBe(true);
    const closed = await s.check({ org: 'globex' });
    expect(closed.allowed).toBe(false);
    expect(closed.status).toBe(503);
    expect(errors.length).toBeGreaterThan(0);
    await s.close();
  });

  it('says which file it could not read for tlsCa', async () => {
    await expect(Sluice.open({ policy, store: `rediss://127.0.0.1:${tlsPort}?tlsCa=/nonexistent/ca.pem` })).rejects.toThrow(/tlsCa=\/nonexistent\/ca.pem: cannot read the file \(ENOENT\)/);
  });
});

describe.runIf(hasRedis)('Redis Sentinel (redis+sentinel://)', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let sentinel: RedisSentinel;

  beforeAll(async () => {
    primary = await RedisServer.start();
    replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    await waitUntil('replica in sync', 15_000, () => replica.cli('INFO', 'replication').includes('master_link_status:up'));
    sentinel = await RedisSentinel.start(primary.port);
  });
  afterAll(async () => {
    await sentinel?.destroy();
    await replica?.destroy();
    await primary?.destroy();
  });

  it('finds the primary through Sentinel, and follows a failover when the primary is killed', async () => {
    const errors: unknown[] = [];
    const s = await Sluice.open({ policy, store: `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster?timeout=500`, onStoreError: (e) => errors.push(e) });
    expect((await s.check({ account: 'acme' })).allowed).toBe(true);
    expect((await s.check({ account: 'acme' })).allowed).toBe(true);
    expect(errors).toEqual([]);
    expect(primary.cli('DBSIZE').trim()).not.toBe('0');
    await waitUntil('state replicated', 10_000, () => replica.cli('DBSIZE').trim() === primary.cli('DBSIZE').trim());

    await primary.stop('SIGKILL');
    await waitUntil('sentinel promotes the replica', 30_000, () => sentinel.primaryPort() === replica.port);
    // Checks answer throughout (falling back while no primary is known), then reach the new primary.
    await waitUntil('checks decided by the new primary', 30_000, async () => {
      const before = errors.length;
      await s.check({ account: 'probe' });
      return errors.length === before;
    });
    expect(replica.cli('INFO', 'replication')).toContain('role:master');
    // The replicated state carried over: acme used 2 of 3 before the failover.
    expect((await s.check({ account: 'acme' })).allowed).toBe(true);
    expect((await s.check({ account: 'acme' })).allowed).toBe(false);
    await s.close();
  });
});
