import { afterEach, describe, expect, it } from 'vitest';
import {
  createClient,
  QuotaExceededError,
  RateLimitedError,
  type ClientEvent,
} from '../../src/client/index.js';
import {
  startFixedWindowServer,
  startServer,
  startSlidingWindowServer,
  type TestServer,
} from './support/servers.js';

// Real sockets and real time, but only on 127.0.0.1 and with short windows. Assertions are
// about counts and ordering, never tight timings, so a loaded 2-core machine stays green.

const servers: TestServer[] = [];
async function track<T extends TestServer>(p: Promise<T>): Promise<T> {
  const s = await p;
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Runs `total` requests through `workers` concurrent loops (each loop bounded by the shared counter). */
async function drive(total: number, workers: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) await one(next++);
    }),
  );
}

describe('client against a real rate-limited server', () => {
  it('never exceeds a configured limit over a few hundred requests', { timeout: 25_000 }, async () => {
    const server = await track(startSlidingWindowServer({ limit: 20, windowMs: 500 }));
    const client = createClient({
      limit: { limit: 20, windowMs: 500 },
      // Client send times and server arrival times differ by event-loop and socket jitter;
      // 10% headroom keeps arrivals inside the window even on a busy machine.
      safetyMarginMs: 50,
    });
    const statuses: number[] = [];
    // All at once: the client, not the caller, is responsible for spacing them.
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await client.fetch(`${server.url}/items/${i}`);
        statuses.push(res.status);
        await res.text();
      }),
    );
    expect(statuses.length).toBe(200);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(server.violations).toBe(0);
    expect(server.accepted).toBe(200);
  });

  it('learns the limit from RateLimit headers when not configured', { timeout: 25_000 }, async () => {
    const server = await track(startFixedWindowServer({ limit: 30, windowMs: 1000 }));
    const events: ClientEvent[] = [];
    const client = createClient({ onEvent: (e) => events.push(e), retry: { baseMs: 50 } });
    let okCount = 0;
    await drive(90, 4, async (i) => {
      const res = await client.fetch(`${server.url}/learn/${i}`);
      if (res.status === 200) okCount++;
      await res.text();
    });
    expect(okCount).toBe(90);
    expect(server.accepted).toBe(90);
    // It paced itself from the headers (waits), so refusals stay rare; any it did get were retried.
    expect(events.some((e) => e.type === 'wait')).toBe(true);
    expect(server.violations).toBeLessThanOrEqual(9);
    expect(events.filter((e) => e.type === 'giveup')).toEqual([]);
  });

  it('recovers from a burst of 429s when it knows nothing about the limit', { timeout: 25_000 }, async () => {
    const server = await track(startSlidingWindowServer({ limit: 20, windowMs: 500 }));
    const events: ClientEvent[] = [];
    const client = createClient({ onEvent: (e) => events.push(e) });
    // 50 at once against a limit of 20: the first wave is refused, Retry-After spaces the rest.
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await client.fetch(`${server.url}/burst/${i}`);
        await res.text();
        return res.status;
      }),
    );
    expect(results.every((s) => s === 200)).toBe(true);
    expect(server.accepted).toBe(50);
    expect(server.violations).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'retry').length).toBe(server.violations);
  });
});

describe('client against scripted servers', () => {
  it('retries 503 a few times, then succeeds', async () => {
    const server = await track(
      startServer((_req, res) => {
        if (server.hits <= 3) res.writeHead(503).end('busy');
        else res.writeHead(200).end('finally');
      }),
    );
    const client = createClient({ retry: { baseMs: 20 } });
    const res = await client.fetch(`${server.url}/flaky`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('finally');
    expect(server.hits).toBe(4);
  });

  it('polls a 202 until the report is ready', async () => {
    const server = await track(
      startServer((req, res) => {
        if (server.hits < 3) res.writeHead(202, { 'Retry-After': '0' }).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ report: req.url }));
      }),
    );
    const events: ClientEvent[] = [];
    const client = createClient({ onEvent: (e) => events.push(e) });
    const res = await client.fetch(`${server.url}/reports/42?month=5`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ report: '/reports/42?month=5' });
    expect(server.hits).toBe(3);
    expect(events.map((e) => e.type)).toEqual(['poll', 'poll']);
  });

  it('throws QuotaExceededError on 509 and then fails fast without calling the server', async () => {
    const server = await track(
      startServer((_req, res) => {
        res
          .writeHead(509, {
            'Retry-After': '3600',
            'RateLimit-Policy': '"monthly";q=10000;w=2592000',
            RateLimit: '"monthly";r=0;t=3600',
          })
          .end('quota exhausted');
      }),
    );
    const client = createClient();
    const err = await client.fetch(`${server.url}/q`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ status: 509, retryAfterMs: 3_600_000, policy: 'monthly' });
    expect(await (err as QuotaExceededError).response!.text()).toBe('quota exhausted');

    for (let i = 0; i < 3; i++) {
      await expect(client.fetch(`${server.url}/q/${i}`)).rejects.toBeInstanceOf(QuotaExceededError);
    }
    expect(server.hits).toBe(1);
  });

  it('does not retry a POST without an idempotency key, but does with one, resending the body', async () => {
    const bodies: string[] = [];
    const server = await track(
      startServer((_req, res, body) => {
        bodies.push(body);
        // Refuse the first attempt of each of the two POSTs.
        if (server.hits <= 2) res.writeHead(429, { 'Retry-After': '0' }).end();
        else res.writeHead(201).end(body);
      }),
    );
    const client = createClient();
    const err = await client
      .fetch(`${server.url}/orders`, { method: 'POST', body: '{"n":1}' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).status).toBe(429);
    expect(server.hits).toBe(1);

    const res = await client.fetch(`${server.url}/orders`, {
      method: 'POST',
      body: '{"n":2}',
      headers: { 'content-type': 'application/json' },
      idempotencyKey: 'order-2',
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('{"n":2}');
    expect(bodies).toEqual(['{"n":1}', '{"n":2}', '{"n":2}']);
  });
});

describe('cancellation against a real server', () => {
  it('aborts a request the server never answers', async () => {
    const server = await track(startServer(() => {}));
    const client = createClient();
    const ac = new AbortController();
    const p = client.fetch(`${server.url}/hang`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborts while waiting out a long Retry-After', async () => {
    const server = await track(startServer((_req, res) => res.writeHead(429, { 'Retry-After': '60' }).end()));
    const events: ClientEvent[] = [];
    const ac = new AbortController();
    const client = createClient({
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'retry') ac.abort();
      },
    });
    // Resolving at all proves the 60 s wait was cut short (the test timeout is 30 s).
    await expect(client.fetch(`${server.url}/slow`, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.hits).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['retry']);
  });

  it('times out a hung attempt and succeeds on the retry', async () => {
    const server = await track(
      startServer((_req, res) => {
        if (server.hits > 1) res.writeHead(200).end('second time lucky');
      }),
    );
    const client = createClient({ timeoutMs: 300, retry: { baseMs: 10 } });
    const res = await client.fetch(`${server.url}/sometimes-hangs`);
    expect(await res.text()).toBe('second time lucky');
    expect(server.hits).toBe(2);
  });
});
