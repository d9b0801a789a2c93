import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * A realistic sample access log (Combined Log Format, as nginx writes it) for the seed
 * policies and examples/simulate/routes.yaml, so the simulator can be tried without a
 * production log. Deterministic for a seed. Traffic is a mix the seeds' limits were
 * written for: many accounts with a few heavy ones (the per-minute limit bites some
 * of them; acme-enterprise has a raised limit), failed logins with one password
 * guesser, signups with one spamming IP, a smart-reply bot loop, pushes, and
 * recording downloads whose bytes run smallco into its 5-day egress cap.
 */
export interface GenerateOptions {
  lines: number;
  seed?: number;
  /** Lines per second of log time (default 40). */
  rate?: number;
  /** First line's time (default 2026-11-23T09:00:00Z). */
  startMs?: number;
}

export async function generateLog(file: string, opts: GenerateOptions): Promise<{ lines: number; fromMs: number; toMs: number }> {
  const out = file === '-' ? process.stdout : createWriteStream(file);
  const gen = sampleLines(opts);
  let batch: string[] = [];
  for (const line of gen.lines) {
    batch.push(line);
    if (batch.length === 20_000) {
      await write(out, batch.join('\n') + '\n');
      batch = [];
    }
  }
  if (batch.length) await write(out, batch.join('\n') + '\n');
  if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as Writable).end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { lines: opts.lines, fromMs: gen.startMs, toMs: gen.endMs() };
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(text, (e) => e && reject(e))) resolve();
    else out.once('drain', resolve);
  });
}

/** mulberry32: small, fast, good enough for traffic shapes, and the same everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CC_PATHS = ['conversations', 'conversations/c-{n}', 'queues/size', 'agents', 'agents/a-{n}', 'skills', 'wfm/agents'];
const UAS = ['python-requests/2.32.3', 'okhttp/4.12.0', 'Go-http-client/1.1', 'axios/1.7.7', 'curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "23/Nov/2026:09:00:00 +0000" */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function sampleLines(opts: GenerateOptions): { lines: Iterable<string>; startMs: number; endMs: () => number } {
  const rnd = prng(opts.seed ?? 1);
  const rate = opts.rate ?? 40;
  const startMs = opts.startMs ?? Date.UTC(2026, 10, 23, 9, 0, 0);
  let t = startMs;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  // Account popularity: Zipf-like over 300 accounts, so a few are heavy.
  const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(rnd() * Math.log(n + 1))) - 1);
  const ip = (n: number) => `203.0.${(n >> 8) & 255}.${n & 255}`;
  let stamp = '';
  let stampSecond = -1;
  function* lines(): Generator<string> {
    for (let i = 0; i < opts.lines; i++) {
      t += (-Math.log(1 - rnd()) * 1000) / rate; // Poisson arrivals
      const second = Math.floor(t / 1000);
      if (second !== stampSecond) {
        stampSecond = second;
        stamp = clfTime(second * 1000);
      }
      const r = rnd();
      let method = 'GET';
      let path: string;
      let status = 200;
      let bytes = 200 + Math.floor(rnd() * 4000);
      let client = ip(Math.floor(rnd() * 4000));
      if (r < 0.62) {
        const a = zipf(300);
        const account = a === 0 ? 'acme-enterprise' : `acct-${a}`;
        path = `/v1/accounts/${account}/${pick(CC_PATHS).replace('{n}', String(Math.floor(rnd() * 500)))}`;
        if (rnd() < 0.05) method = 'POST';
        if (method === 'POST') path = `/v1/accounts/${account}/${rnd() < 0.5 ? 'agents' : 'contacts'}`;
        client = ip(a);
      } else if (r < 0.7) {
        const guesser = rnd() < 0.3;
        const user = guesser ? 'mallory' : `user-${Math.floor(rnd() * 2000)}`;
        method = 'POST';
        path = `/v1/users/${user}/login`;
        status = guesser || rnd() < 0.1 ? 401 : 200;
        bytes = status === 401 ? 61 : 412;
        if (guesser) client = '198.51.100.66';
      } else if (r < 0.72) {
        method = 'POST';
        path = '/v1/signup';
        status = 201;
        client = rnd() < 0.4 ? '198.51.100.7' : ip(Math.floor(rnd() * 60000));
      } else if (r < 0.82) {
        method = 'POST';
        const loop = rnd() < 0.35;
        const contact = loop ? '919800000001' : `9198${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`;
        path = `/v1/contacts/${contact}/smart-replies/${loop ? 'q-hello' : `q-${Math.floor(rnd() * 40)}`}`;
      } else if (r < 0.92) {
        method = 'POST';
        const a = zipf(300);
        path = `/v1/accounts/${a === 0 ? 'acme-enterprise' : `acct-${a}`}/messages`;
        client = ip(a);
        status = 202;
      } else {
        const tenant = rnd() < 0.5 ? 'acme' : rnd() < 0.6 ? 'smallco' : `tenant-${Math.floor(rnd() * 30)}`;
        path = `/v1/tenants/${tenant}/recordings/r-${Math.floor(rnd() * 1e6)}/audio`;
        bytes = 2_000_000 + Math.floor(rnd() * 48_000_000);
        client = tenant === 'acme' ? '192.0.2.10' : tenant === 'smallco' ? '192.0.2.20' : '192.0.2.30';
      }
      yield `${client} - - [${stamp}] "${method} ${path} HTTP/1.1" ${status} ${bytes} "-" "${pick(UAS)}"`;
    }
  }
  return { lines: lines(), startMs, endMs: () => t };
}
