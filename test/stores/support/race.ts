/**
 * Races child processes on one Redis (or Cluster): forks `processes` copies of a bundled child
 * script, waits until each says 'ready', sends them all 'go' at once, and collects one reply
 * from each (bounded in time). See accuracy-child.ts for the replies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';

export interface Reply {
  admitted?: number;
  admittedAt?: number[];
  calls?: number;
  errors: number;
}

export async function race(script: string, args: string[], processes = 4): Promise<Reply[]> {
  const children: ChildProcess[] = [];
  try {
    const ready: Promise<void>[] = [];
    const replies: Promise<Reply>[] = [];
    for (let i = 0; i < processes; i++) {
      const c = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(c);
      ready.push(new Promise((res, rej) => {
        c.once('message', (m) => (m === 'ready' ? res() : rej(new Error(String(m)))));
        c.once('exit', (code) => rej(new Error(`child exited early (${code})`)));
      }));
      replies.push(new Promise((res, rej) => {
        c.on('message', (m) => typeof m === 'object' && res(m as Reply));
        c.once('exit', (code) => rej(new Error(`child exited without a reply (${code})`)));
      }));
    }
    // A child that fails before 'ready' also fails its reply: that one is reported through `ready`.
    for (const r of replies) r.catch(() => undefined);
    await Promise.all(ready);
    for (const c of children) c.send('go'); // every process starts together
    return await withTimeout(Promise.all(replies), 40_000);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error('timed out')), ms)))]).finally(() => clearTimeout(t));
}


/** A burst race on a 100/min rule: no store errors, and exactly 100 admitted (GCRA: see below). */
export function expectExactly100(replies: Reply[], algorithm: string): void {
  expect(replies.reduce((n, r) => n + r.errors, 0)).toBe(0);
  const admitted = replies.reduce((n, r) => n + r.admitted!, 0);
  const times = replies.flatMap((r) => r.admittedAt!);
  const span = Math.max(...times) - Math.min(...times);
  if (algorithm === 'gcra' && span >= 600) {
    // GCRA earns one unit per 600 ms: a race slower than that (a loaded machine) may earn more.
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(100 + Math.floor(span / 600));
  } else expect(admitted).toBe(100);
}
