import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  /** Base URL, always http://127.0.0.1:<ephemeral port>. */
  url: string;
  hits: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Starts a server on 127.0.0.1 with an OS-assigned port; the handler gets the full body. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const state = { hits: 0 };
  const server = createServer((req, res) => {
    state.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hung test requests would otherwise keep close() waiting forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LimitedServer extends TestServer {
  accepted: number;
  /** Requests refused with 429 because they broke the limit. */
  violations: number;
}

/**
 * Sliding-log limiter: at most `limit` accepted requests in any `windowMs`. Refusals get
 * 429 with Retry-After for when the oldest request leaves the window. With `headers`,
 * also advertises the limit in draft-10 form; reset is when the whole window clears,
 * the conservative reading for a sliding window.
 */
export async function startSlidingWindowServer(opts: {
  limit: number;
  windowMs: number;
  headers?: boolean;
}): Promise<LimitedServer> {
  const log: number[] = [];
  const counts = { accepted: 0, violations: 0 };
  const server = await startServer((_req, res) => {
    const now = performance.now();
    while (log.length > 0 && log[0] <= now - opts.windowMs) log.shift();
    const headers: Record<string, string> = {};
    if (log.length < opts.limit) {
      log.push(now);
      counts.accepted++;
      if (opts.headers) {
        const clearsInS = Math.ceil((log[log.length - 1] + opts.windowMs - now) / 1000);
        headers['RateLimit-Policy'] = `"sliding";q=${opts.limit};w=${Math.ceil(opts.windowMs / 1000)}`;
        headers['RateLimit'] = `"sliding";r=${opts.limit - log.length};t=${clearsInS}`;
      }
      res.writeHead(200, headers).end('ok');
      return;
    }
    counts.violations++;
    headers['Retry-After'] = String(Math.ceil((log[0] + opts.windowMs - now) / 1000));
    res.writeHead(429, headers).end('slow down');
  });
  return withCounts(server, counts);
}

/**
 * Fixed-window limiter advertising draft-10 headers (the common real-world shape: a
 * quota that resets at window boundaries). Reset seconds are rounded up, as servers must
 * not understate them.
 */
export async function startFixedWindowServer(opts: { limit: number; windowMs: number }): Promise<LimitedServer> {
  const start = performance.now();
  let windowIndex = 0;
  let used = 0;
  const counts = { accepted: 0, violations: 0 };
  const server = await startServer((_req, res) => {
    const now = performance.now();
    const index = Math.floor((now - start) / opts.windowMs);
    if (index !== windowIndex) {
      windowIndex = index;
      used = 0;
    }
    const resetS = Math.max(1, Math.ceil((start + (index + 1) * opts.windowMs - now) / 1000));
    const policy = `"fixed";q=${opts.limit};w=${Math.ceil(opts.windowMs / 1000)}`;
    if (used < opts.limit) {
      used++;
      counts.accepted++;
      res
        .writeHead(200, { 'RateLimit-Policy': policy, RateLimit: `"fixed";r=${opts.limit - used};t=${resetS}` })
        .end('ok');
      return;
    }
    counts.violations++;
    res
      .writeHead(429, { 'RateLimit-Policy': policy, RateLimit: `"fixed";r=0;t=${resetS}`, 'Retry-After': String(resetS) })
      .end('slow down');
  });
  return withCounts(server, counts);
}

/** Exposes live counters (getters, not copies) on the server handle. */
function withCounts(server: TestServer, counts: { accepted: number; violations: number }): LimitedServer {
  return Object.defineProperties(server, {
    accepted: { get: () => counts.accepted, enumerable: true },
    violations: { get: () => counts.violations, enumerable: true },
  }) as LimitedServer;
}
