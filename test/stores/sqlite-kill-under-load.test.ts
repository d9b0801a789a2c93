/**
 * Group commit keeps every answer durable: the service (and the library) on a SQLite file
 * is killed with SIGKILL at random moments under concurrent load, restarted on the same
 * file each time; after every kill the file holds at least every charge that was answered
 * (and at most those plus the ones in flight, one per caller). A group commit that let an
 * answer out before its commit, or that lost a committed group, fails the first bound.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { bundle } from '../helpers/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMIT = 1_000_000_000;
const POLICY = `
version: 1
rules:
  - name: per-account
    match: { account: '*' }
    key: [account]
    limit: ${LIMIT}/1h
    algorithm: fixed-window
`;
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const CALLERS = 32;

/** The charges the file holds for the one key the load uses. */
async function charged(db: string): Promise<number> {
  const store = new SqliteStore(db, { sweepIntervalMs: 0 });
  try {
    const sluice = await Sluice.open({ policy: POLICY, store, clock: () => T0 });
    const [peek] = await sluice.peek({ account: 'acme' });
    return peek.usage.limit - peek.usage.remaining;
  } finally {
    await store.close();
  }
}

function start(script: string, mode: string, db: string, counter = ''): { child: ChildProcess; ready: Promise<{ port?: number }> } {
  const child = fork(script, [mode, db, POLICY, String(T0), counter], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise<{ port?: number }>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number }) => m.type === 'ready' && resolve(m));
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  const [, signal] = await exited;
  expect(signal).toBe('SIGKILL');
}

const randomMs = () => 150 + Math.floor(Math.random() * 350);

it('service on SQLite: 0 answered charges lost over 20 random kills under load', async () => {
  const script = await bundle(new URL('./support/sqlite-serve.ts', import.meta.url));
  const db = join(dir, 'service', 'sluice.db');
  let answered = 0;
  let inFlightCounted = 0;
  for (let kill_ = 0; kill_ < 20; kill_++) {
    const { child, ready } = start(script, 'service', db);
    const { port } = await ready;
    const agent = new Agent({ connections: CALLERS, pipelining: 1 });
    let stop = false;
    const body = JSON.stringify({ subject: { account: 'acme' } });
    const callers = Array.from({ length: CALLERS }, async () => {
      while (!stop) {
        try {
          const r = await request(`http://127.0.0.1:${port}/v1/check`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
          const d = (await r.body.json()) as { allowed?: boolean };
          if (r.statusCode === 200 && d.allowed === true) answered++;
        } catch {
          return; // the server died under this request: it is in flight, not answered
        }
      }
    });
    await new Promise((r) => setTimeout(r, randomMs()));
    await kill(child);
    stop = true;
    await Promise.all(callers);
    await agent.destroy();
    const used = await charged(db);
    expect(used).toBeGreaterThanOrEqual(answered); // nothing answered was lost
    expect(used - answered - inFlightCounted).toBeLessThanOrEqual(CALLERS); // at most one unanswered charge per caller per kill
    inFlightCounted = used - answered;
  }
  expect(answered).toBeGreaterThan(20 * CALLERS); // the load really ran
  console.log(`service: ${answered} answered charges, all on disk after 20 kills; ${inFlightCounted} charges in flight were counted without an answer`);
}, 120_000);

it('library on SQLite: check() resolves only after its commit (5 random kills)', async () => {
  const script = await bundle(new URL('./support/sqlite-serve.ts', import.meta.url));
  const db = join(dir, 'library', 'sluice.db');
  const counter = join(dir, 'library-answered');
  let answered = 0;
  let inFlightCounted = 0;
  for (let k = 0; k < 5; k++) {
    const { child, ready } = start(script, 'library', db, counter);
    await ready;
    await new Promise((r) => setTimeout(r, randomMs()));
    await kill(child);
    const now = readFileSync(counter).readUInt32LE(0);
    answered += now;
    const used = await charged(db);
    expect(used).toBeGreaterThanOrEqual(answered);
    expect(used - answered - inFlightCounted).toBeLessThanOrEqual(64); // one check in flight per caller
    inFlightCounted = used - answered;
    expect(now).toBeGreaterThan(64); // the load really ran
  }
  console.log(`library: ${answered} answered charges, all on disk after 5 kills; ${inFlightCounted} charges in flight were counted without an answer`);
}, 60_000);
