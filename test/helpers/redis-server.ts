/**
 * Starts and stops throwaway redis-server processes on free loopback ports: single
 * nodes, a 3-master cluster made with `redis-cli --cluster create`, and Sentinels. Only 127.0.0.1.
 *
 * When redis-server is not on PATH, `redisAvailable` is false and suites that need it
 * must skip with `skipReason()` printed LOUDLY (never a silent pass).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const REDIS_SERVER = which('redis-server');
export const REDIS_CLI = which('redis-cli');
export const redisAvailable = REDIS_SERVER !== undefined && REDIS_CLI !== undefined;

/** Call at the top of a suite that needs Redis; warns loudly when the suite will be skipped. */
export function warnIfNoRedis(suite: string): boolean {
  if (!redisAvailable) {
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! SKIPPED: ${suite}\n!! redis-server / redis-cli not found on PATH, so the Redis tests did NOT run.\n!! Install Redis (apt-get install redis-server) to run them.\n${bar}\n`);
  }
  return redisAvailable;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (and, for cluster nodes, its bus port +10000 as well). */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (!withBus) return port;
    if (port + 10000 > 65535) continue;
    try {
      await listenOnce(port + 10000);
      return port;
    } catch {
      // bus port busy: try again
    }
  }
  throw new Error('no free port pair found');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class RedisServer {
  private proc?: ChildProcess;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly extra: string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  }

  static async start(opts: { port?: number; args?: string[] } = {}): Promise<RedisServer> {
    const s = new RedisServer(opts.port ?? (await freePort()), opts.args ?? []);
    await s.start();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts (or restarts, on the same port) the server and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.running) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--protected-mode', 'no', '--loglevel', 'warning', ...this.extra];
    const p = spawn(REDIS_SERVER!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(p);
    p.once('exit', () => live.delete(p));
    this.proc = p;
    await until(`redis-server on ${this.port}`, 10_000, async () => {
      if (!this.running) throw new Error(`redis-server on port ${this.port} exited (code ${p.exitCode})`);
      return ping(this.port);
    });
  }

  /** Stops the server: SIGKILL to simulate a crash, SIGTERM otherwise. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Freezes (SIGSTOP: a hung Redis, connections open but nothing answered) or thaws (SIGCONT) the server. */
  pause(): void {
    if (this.running) this.proc!.kill('SIGSTOP');
  }
  resume(): void {
    if (this.running) this.proc!.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  cli(...args: string[]): string {
    return execFileSync(REDIS_CLI!, ['-h', '127.0.0.1', '-p', String(this.port), ...args], { encoding: 'utf8' });
  }
}

export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  /** Three masters, no replicas, slots spread by `redis-cli --cluster create`. */
  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        const port = await freePort(true);
        nodes.push(
          await RedisServer.start({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'] }),
        );
      }
      execFileSync(REDIS_CLI!, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      await until('cluster_state:ok', 20_000, () => nodes.every((n) => n.cli('CLUSTER', 'INFO').includes('cluster_state:ok')));
    } catch (e) {
      await Promise.all(nodes.map((n) => n.destroy()));
      throw e;
    }
    return new RedisCluster(nodes);
  }

  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** A Redis Sentinel (redis-server --sentinel) watching one primary as "mymaster", quorum 1. */
export class RedisSentinel {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(primaryPort: number, masterName = 'mymaster'): Promise<RedisSentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawn(REDIS_SERVER!, [conf, '--sentinel', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    await until(`sentinel on ${port}`, 10_000, () => ping(port));
    return new RedisSentinel(port, proc, dir);
  }

  /** The primary's port as this sentinel currently sees it. */
  primaryPort(masterName = 'mymaster'): number {
    const out = execFileSync(REDIS_CLI!, ['-h', '127.0.0.1', '-p', String(this.port), 'SENTINEL', 'get-master-addr-by-name', masterName], { encoding: 'utf8' });
    return Number(out.trim().split('\n')[1]);
  }

  async destroy(): Promise<void> {
    const exited = new Promise<void>((r) => (this.proc.exitCode !== null ? r() : this.proc.once('exit', () => r())));
    this.proc.kill('SIGKILL');
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits, bounded, until `check` holds (for tests that wait on a real server's state). */
export { until as waitUntil };
