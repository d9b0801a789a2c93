/** SIGINT to a running `sluice pace`: nothing more starts, what was not sent is reported, exit 130. */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { PaceResult } from '../../src/pacer/command.js';
import { bundle } from '../helpers/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-pace-sigint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('stops gracefully on SIGINT and exits 130', async () => {
  const file = join(dir, 'jobs.jsonl');
  writeFileSync(file, Array.from({ length: 50 }, (_, i) => JSON.stringify({ key: 'ch', n: i })).join('\n') + '\n');
  const script = await bundle(new URL('./support/pace-main.ts', import.meta.url));
  const child = fork(script, [file, '10/s'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  let err = '';
  let result: PaceResult | undefined;
  child.on('message', (m: { type: string; result: PaceResult }) => (result = m.result));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output from the child: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.split('\n').length > 3) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGINT');
  const code = await exited;
  expect(code).toBe(130);
  expect(result).toBeDefined();
  expect(result!.interrupted).toBe(true);
  const emitted = out.trim().split('\n').length;
  expect(result!.sent).toBe(emitted);
  expect(result!.notSent).toBeGreaterThan(0);
  expect(result!.sent + result!.failed + result!.notSent).toBe(50);
  expect(err).toMatch(/interrupted/);
  expect(err).toMatch(/not sent: lines \d+-50/);
}, 60_000);
