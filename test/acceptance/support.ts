/**
 * What the acceptance suites share: the seed policy written from the README (seeds.yaml), the
 * seed pages' exact texts, a hand-driven clock, and `sluice serve` as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundle } from '../helpers/bundle.js';

export const SEED_POLICY = fileURLToPath(new URL('./seeds.yaml', import.meta.url));

/** Seed 000's message (a typographic apostrophe), seed 001's (an ASCII one). */
export const SMARTASSIST_TEXT = 'You’ve exceeded the per-minute rate limit. Please wait for sometime before retrying.';
export const CCAI_TEXT = "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";

export function manualClock(start = Date.UTC(2026, 11, 1, 9, 0, 0)) {
  const c = { t: start, now: () => c.t, advance: (ms: number) => void (c.t += ms) };
  return c;
}

export interface Child {
  url: string;
  port: number;
  out: () => string;
  stop(): Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
}

let cli: Promise<string> | undefined;
/** The CLI, bundled from src once per test file (as test/time/shutdown.test.ts does). */
export function cliPath(): Promise<string> {
  cli ??= bundle(new URL('../../src/cli.ts', import.meta.url));
  return cli;
}

/** `sluice serve …` on 127.0.0.1, port 0; resolves once it logged "sluice serving". */
export async function spawnServe(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const file = await cliPath();
  const child: ChildProcess = spawn(process.execPath, [file, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice serve did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /"port":(\d+)[^\n]*"sluice serving"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited (${code}): ${out}`));
    });
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    out: () => out,
    signal: (sig) => void child.kill(sig),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  body: any;
}

export async function send(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const r = await fetch(url, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  const bytes = Buffer.from(await r.arrayBuffer());
  const text = bytes.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.status, headers: r.headers, bytes, text, body };
}

/**
 * Outcomes are recorded after the response is sent, so the next request may race the record:
 * waits (bounded, polling) until the engine has seen `count` units of `rule` for the subject,
 * or its block. Not a timing assertion: it only orders the test after the record.
 */
export async function recorded(engine: { peek(s: Record<string, unknown>): Promise<{ rule: { name: string }; usage: { limit: number; remaining: number }; block?: { blocked: boolean } }[]> }, subject: Record<string, unknown>, rule: string, count: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = (await engine.peek(subject)).find((p) => p.rule.name === rule);
    if (r && (r.block?.blocked || r.usage.limit - r.usage.remaining >= count)) return;
    if (Date.now() > end) throw new Error(`rule ${rule} never saw ${count} recorded for ${JSON.stringify(subject)}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}
