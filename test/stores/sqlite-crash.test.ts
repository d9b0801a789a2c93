/**
 * Durability: a Sluice process on a SQLite file is killed with SIGKILL in the middle of a
 * load; a new process on the same file still sees the lockout, the quota's used bytes
 * (at least every byte acknowledged before the kill), the override, the attribute and the counters.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { bundle } from '../helpers/bundle.js';
import { EXAMPLES } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('state survives kill -9 mid-load', async () => {
  const script = await bundle(new URL('./support/sqlite-load.ts', import.meta.url));
  const db = join(dir, 'data', 'sluice.db');
  const child = fork(script, [db, EXAMPLES], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let committed = 0;
  let setup: { blocked: boolean } | undefined;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child made no progress')), 20_000);
    child.on('message', (m: { type: string; committed?: number; blocked?: boolean }) => {
      if (m.type === 'setup') setup = { blocked: m.blocked! };
      if (m.type === 'progress') {
        committed = m.committed!;
        // Kill while it is writing: after a few hundred commits.
        if (committed >= 300_000_000) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  expect(await exited).toBe('SIGKILL');
  expect(setup?.blocked).toBe(true);

  const store = new SqliteStore(db);
  const picky = await Sluice.open({ policy: `${EXAMPLES}picky-assist.yaml`, store });
  const ccaas = await Sluice.open({ policy: `${EXAMPLES}ccaas-recordings.yaml`, store });
  try {
    const login = await picky.check({ api: 'Login', user: 'mallory' });
    expect(login.allowed).toBe(false);
    expect(login.code).toBe('login_disabled');
    expect((await picky.check({ api: 'Login', user: 'trent' })).allowed).toBe(true);

    const d = await ccaas.check({ api: 'Get Recording Audio', tenant: 'smallco' });
    const egress = d.rules.find((r) => r.name === 'recording-egress-5d')!;
    expect(egress.limit).toBe(3 * 2.5e9); // the stored attribute (3 agents) survived
    const used = egress.limit - egress.remaining;
    expect(used).toBeGreaterThanOrEqual(committed);
    expect(used % 1_000_000).toBe(0);

    expect((await store.listOverrides()).map((o) => o.limit)).toEqual([7]);
    expect(await store.getAttributes('tenant:smallco')).toEqual({ licensed_agents: 3 });
    // The signup counter: 2 used by the dead process, so the next one from that IP is refused.
    expect((await picky.check({ api: 'Signup', ip: '198.51.100.2' })).allowed).toBe(false);
  } finally {
    await store.close();
  }
}, 60_000);
