import { pino } from 'pino';
import { serve, type ServeHandle, type ServeOptions } from '../../src/server/serve.js';

export const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

/** A hand-driven clock: tests move time instead of sleeping. */
export function fakeClock(start = Date.parse('2026-03-02T09:00:00Z')) {
  const c = { now: start, advance: (ms: number) => void (c.now += ms), fn: () => c.now };
  return c;
}

export interface Service extends ServeHandle {
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Res>;
  get(path: string, headers?: Record<string, string>): Promise<Res>;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
}

export interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

const started: Service[] = [];

/** Starts the real service on 127.0.0.1, port 0, quiet, without signal handlers. */
export async function start(opts: Partial<ServeOptions>): Promise<Service> {
  const h = await serve({
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
    handleSignals: false,
    watch: false,
    processMetrics: false,
    ...opts,
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const r = await fetch(h.url + path, init);
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: r.status, headers: r.headers, body: parsed, text };
  };
  const s: Service = Object.assign(Object.create(null), h, {
    close: h.close,
    reload: h.reload,
    call,
    post: (path: string, body: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
  });
  started.push(s);
  return s;
}

export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.close()));
}

export const ADMIN = { authorization: 'Bearer admin-secret' };
export const READ = { authorization: 'Bearer read-secret' };
export const TOKENS = { adminToken: 'admin-secret', readToken: 'read-secret' };

/** One request rule keyed by account, far from its limit: for tests about input, not limits. */
export const ONE_RULE_POLICY = `
version: 1
rules:
  - name: account-per-minute
    key: [account]
    limit: 1000/1m
`;
