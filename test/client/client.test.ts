import { describe, expect, it } from 'vitest';
import {
  createClient,
  QuotaExceededError,
  RateLimitedError,
  SluiceClientError,
  type ClientEvent,
  type ClientOptions,
} from '../../src/client/index.js';
import { FakeClock, settle } from './support/fake-clock.js';
import { fakeFetch, hang, respond, type Handler } from './support/fake-fetch.js';

const URL_A = 'http://127.0.0.1:1/a';

function setup(handler: Handler, options: Partial<ClientOptions> = {}) {
  const clock = new FakeClock(1_700_000_000_000);
  const t0 = clock.now();
  const { fetch, calls } = fakeFetch(clock, handler);
  const events: ClientEvent[] = [];
  const client = createClient({
    clock,
    fetch,
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...options,
  });
  /** Call times relative to the start, in ms. */
  const times = () => calls.map((c) => c.at - t0);
  return { clock, client, calls, events, times, t0 };
}

const ok = () => respond(200, {}, 'ok');

describe('pacing to a configured limit', () => {
  it('spreads requests evenly at windowMs/limit', async () => {
    const { clock, client, times, events } = setup(ok, { limit: { limit: 2, windowMs: 1000 } });
    const all = Promise.all(Array.from({ length: 5 }, () => client.fetch(URL_A)));
    const responses = await clock.run(all);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(times()).toEqual([0, 500, 1000, 1500, 2000]);
    expect(events.filter((e) => e.type === 'wait').length).toBe(4);
  });

  it('allows a burst before even spacing', async () => {
    const { clock, client, times } = setup(ok, { limit: { limit: 4, windowMs: 1000, burst: 2 } });
    await clock.run(Promise.all(Array.from({ length: 5 }, () => client.fetch(URL_A))));
    expect(times()).toEqual([0, 0, 250, 500, 750]);
  });

  it('paces each key independently (keyFor), defaulting to the origin', async () => {
    const { clock, client, calls, t0 } = setup(ok, {
      limit: { limit: 1, windowMs: 1000 },
      keyFor: (req) => req.headers.get('x-tenant') ?? new URL(req.url).origin,
    });
    const run = (tenant: string) => client.fetch(URL_A, { headers: { 'x-tenant': tenant } });
    await clock.run(Promise.all([run('t1'), run('t2'), run('t1'), run('t2'), run('t1')]));
    const byTenant = (t: string) => calls.filter((c) => c.headers.get('x-tenant') === t).map((c) => c.at - t0);
    expect(byTenant('t1')).toEqual([0, 1000, 2000]);
    expect(byTenant('t2')).toEqual([0, 1000]);

    const other = setup(ok, { limit: { limit: 1, windowMs: 1000 } });
    await other.clock.run(
      Promise.all([other.client.fetch('http://127.0.0.1:1/x'), other.client.fetch('http://127.0.0.1:2/x')]),
    );
    expect(other.times()).toEqual([0, 0]);
  });
});

describe('learning limits from response headers', () => {
  it('waits for the reset when the server says nothing remains', async () => {
    const { clock, client, times, events } = setup((_req, i) =>
      i === 0 ? respond(200, { RateLimit: '"hourly";r=0;t=30' }) : ok(),
    );
    await clock.run(client.fetch(URL_A));
    await clock.run(client.fetch(URL_A));
    expect(times()).toEqual([0, 30_000]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'wait', delayMs: 30_000, policy: 'hourly' }));
  });

  it('honours legacy epoch resets', async () => {
    const { clock, client, times, t0 } = setup((_req, i) =>
      i === 0
        ? respond(200, { 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String((t0 + 5000) / 1000) })
        : ok(),
    );
    await clock.run(client.fetch(URL_A));
    await clock.run(client.fetch(URL_A));
    expect(times()).toEqual([0, 5000]);
  });

  it('spreads the last few requests over the time left while the window is unknown', async () => {
    const { clock, client, times } = setup((_req, i) =>
      i === 0 ? respond(200, { RateLimit: '"p";r=2;t=9' }) : ok(),
    );
    await clock.run(client.fetch(URL_A));
    await clock.run(Promise.all([client.fetch(URL_A), client.fetch(URL_A), client.fetch(URL_A)]));
    // 2 remaining over 9 s: thirds, then the third request waits for the reset.
    expect(times()).toEqual([0, 3000, 6000, 9000]);
  });

  it('with the policy known, sends what remains at once, then again as soon as its oldest request leaves a rolling window', async () => {
    // A rolling window of 3 per 10 s that answers, like a sliding log, the time until it clears whole (t).
    const sent: number[] = [];
    const { clock, client, times } = setup(() => {
      const now = clock.now();
      const inWindow = sent.filter((t) => t > now - 10_000);
      if (inWindow.length >= 3) return respond(429, { 'Retry-After': '10' });
      sent.push(now);
      return respond(200, { 'RateLimit-Policy': '"p";q=3;w=10', RateLimit: `"p";r=${2 - inWindow.length};t=10` });
    });
    await clock.run(client.fetch(URL_A)); // learns the policy
    await clock.advance(4000);
    await clock.run(Promise.all([client.fetch(URL_A), client.fetch(URL_A), client.fetch(URL_A)]));
    const t = times();
    expect(t.slice(0, 3)).toEqual([0, 4000, 4000]);
    // The fourth waits for the first to leave the window (10 s after it, plus a little slack), not for t (14 s).
    expect(t[3]).toBeGreaterThanOrEqual(10_000);
    expect(t[3]).toBeLessThan(11_000);
    expect(sent.length).toBe(4); // no 429 on the way
  });

  it('knowing nothing yet, sends one request and waits for its answer before the others', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { clock, client, calls } = setup(async (_req, i) => {
      if (i === 0) await gate;
      return respond(200, { 'RateLimit-Policy': '"p";q=2;w=10', RateLimit: `"p";r=${Math.max(0, 1 - i)};t=10` });
    });
    const all = Promise.all([client.fetch(URL_A), client.fetch(URL_A), client.fetch(URL_A)]);
    await settle();
    expect(calls.length).toBe(1); // the others wait to learn the budget instead of stampeding
    release();
    await clock.run(all);
    expect(calls.length).toBe(3);
  });

  it('does not spread while plenty remains', async () => {
    const { clock, client, times } = setup((_req, i) =>
      i === 0 ? respond(200, { 'RateLimit-Policy': '"p";q=100;w=60', RateLimit: '"p";r=90;t=60' }) : ok(),
    );
    await clock.run(client.fetch(URL_A));
    await clock.run(Promise.all([client.fetch(URL_A), client.fetch(URL_A), client.fetch(URL_A)]));
    expect(times()).toEqual([0, 0, 0, 0]);
  });

  it('counts requests in flight against the remaining budget', async () => {
    // The first response arrives while two more are in flight, saying 2 remain:
    // those two may use them, so the fourth must wait for the reset.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { clock, client, times } = setup(async (_req, i) => {
      if (i === 0) return respond(200, { RateLimit: '"p";r=2;t=10', 'RateLimit-Policy': '"p";q=10;w=10' });
      if (i <= 2) await gate;
      return ok();
    });
    const first = client.fetch(URL_A);
    const inflight = [client.fetch(URL_A), client.fetch(URL_A)];
    await clock.run(first);
    const fourth = client.fetch(URL_A);
    await settle();
    release();
    await clock.run(Promise.all([...inflight, fourth]));
    expect(times()).toEqual([0, 0, 0, 10_000]);
  });
});

describe('retries on 429 and 503', () => {
  it('waits for Retry-After and holds other requests on the key too', async () => {
    const { clock, client, times, events } = setup((_req, i) => (i === 0 ? respond(429, { 'Retry-After': '3' }) : ok()));
    const first = client.fetch(URL_A);
    await settle();
    const second = client.fetch(URL_A);
    const [a, b] = await clock.run(Promise.all([first, second]));
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(times()).toEqual([0, 3000, 3000]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', status: 429, delayMs: 3000, attempt: 1 }));
  });

  it('uses the RateLimit reset when a 429 has no Retry-After', async () => {
    const { clock, client, times } = setup((_req, i) => (i === 0 ? respond(429, { RateLimit: 'x;r=0;t=7' }) : ok()));
    await clock.run(client.fetch(URL_A));
    expect(times()).toEqual([0, 7000]);
  });

  it('backs off exponentially with full jitter and gives up after maxAttempts', async () => {
    const { clock, client, calls, times, events } = setup(() => respond(429));
    const err = await clock.run(client.fetch(URL_A)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toBeInstanceOf(SluiceClientError);
    expect((err as RateLimitedError).status).toBe(429);
    expect((err as RateLimitedError).attempts).toBe(5);
    expect((err as RateLimitedError).response?.status).toBe(429);
    expect(calls.length).toBe(5);
    // random() = 0.5 => half of 200, 400, 800, 1600.
    expect(times()).toEqual([0, 100, 300, 700, 1500]);
    expect(events.map((e) => e.type)).toEqual(['retry', 'retry', 'retry', 'retry', 'giveup']);
  });

  it('stops when the next wait would exceed maxElapsedMs', async () => {
    const { clock, client, calls } = setup(() => respond(503, { 'Retry-After': '100' }), {
      retry: { maxElapsedMs: 120_000 },
    });
    const err = await clock.run(client.fetch(URL_A)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(100_000);
    expect(calls.length).toBe(2);
  });

  it('recovers from a run of 503s', async () => {
    const { clock, client, calls, events } = setup((_req, i) => (i < 3 ? respond(503) : respond(200, {}, 'done')));
    const res = await clock.run(client.fetch(URL_A));
    expect(await res.text()).toBe('done');
    expect(calls.length).toBe(4);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.status)).toEqual([503, 503, 503]);
  });

  it('does not retry a POST without an idempotency key', async () => {
    const { clock, client, calls, events } = setup(() => respond(429, { 'Retry-After': '1' }));
    const err = await clock.run(client.fetch(URL_A, { method: 'POST', body: 'x' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(calls.length).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['giveup']);
  });

  it('retries a POST carrying Idempotency-Key, replaying the buffered body', async () => {
    const { clock, client, calls } = setup((_req, i) => (i === 0 ? respond(429, { 'Retry-After': '1' }) : ok()));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('hello '));
        c.enqueue(new TextEncoder().encode('stream'));
        c.close();
      },
    });
    const res = await clock.run(
      client.fetch(URL_A, { method: 'POST', body, duplex: 'half', headers: { 'Idempotency-Key': 'k1' } } as RequestInit),
    );
    expect(res.status).toBe(200);
    expect(calls.map((c) => c.body)).toEqual(['hello stream', 'hello stream']);
  });

  it('sends the idempotencyKey option as a header and retries', async () => {
    const { clock, client, calls } = setup((_req, i) => (i === 0 ? respond(503) : ok()));
    await clock.run(client.fetch(URL_A, { method: 'PATCH', body: '{"a":1}', idempotencyKey: 'abc' }));
    expect(calls.length).toBe(2);
    expect(calls.map((c) => c.headers.get('idempotency-key'))).toEqual(['abc', 'abc']);
    expect(calls[1].body).toBe('{"a":1}');
  });
});

describe('202 polling', () => {
  it('polls until the final response', async () => {
    const { clock, client, times, events } = setup((_req, i) =>
      i < 2 ? respond(202, { 'Retry-After': '2' }) : respond(200, {}, 'report'),
    );
    const res = await clock.run(client.fetch(URL_A));
    expect(await res.text()).toBe('report');
    expect(times()).toEqual([0, 2000, 4000]);
    expect(events.map((e) => e.type)).toEqual(['poll', 'poll']);
  });

  it('can be switched off, and never re-sends unsafe requests', async () => {
    const off = setup(() => respond(202), { pollOn202: false });
    expect((await off.clock.run(off.client.fetch(URL_A))).status).toBe(202);
    expect(off.calls.length).toBe(1);

    const post = setup(() => respond(202));
    expect((await post.clock.run(post.client.fetch(URL_A, { method: 'POST' }))).status).toBe(202);
    expect(post.calls.length).toBe(1);
  });

  it('returns the last 202 when out of attempts', async () => {
    const { clock, client, calls, events } = setup(() => respond(202), { retry: { maxAttempts: 3, baseMs: 10 } });
    expect((await clock.run(client.fetch(URL_A))).status).toBe(202);
    expect(calls.length).toBe(3);
    expect(events.at(-1)?.type).toBe('giveup');
  });
});

describe('509 quota exhaustion', () => {
  it('throws QuotaExceededError and fails fast until the reset', async () => {
    const { clock, client, calls, events } = setup((_req, i) =>
      i === 0
        ? respond(509, { 'Retry-After': '60', 'RateLimit-Policy': '"monthly";q=1000;w=2592000', RateLimit: '"monthly";r=0;t=60' })
        : ok(),
    );
    const err = await clock.run(client.fetch(URL_A)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ status: 509, retryAfterMs: 60_000, policy: 'monthly', attempts: 1 });
    expect((err as QuotaExceededError).response?.status).toBe(509);

    const fast = await clock.run(client.fetch(URL_A)).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(QuotaExceededError);
    expect(fast).toMatchObject({ status: 509, retryAfterMs: 60_000, response: undefined });
    expect(calls.length).toBe(1);
    expect(events.filter((e) => e.type === 'quota').length).toBe(2);

    await clock.advance(60_000);
    expect((await clock.run(client.fetch(URL_A))).status).toBe(200);
    expect(calls.length).toBe(2);
  });

  it('fails requests already queued on the key', async () => {
    const { clock, client, calls } = setup((_req, i) => (i === 0 ? respond(509, { 'Retry-After': '600' }) : ok()), {
      limit: { limit: 1, windowMs: 1000 },
    });
    const results = await clock.run(
      Promise.allSettled([client.fetch(URL_A), client.fetch(URL_A), client.fetch(URL_A)]),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QuotaExceededError);
    expect(calls.length).toBe(1);
  });

  it('does not retry 509 even for safe methods', async () => {
    const { clock, client, calls } = setup(() => respond(509));
    await expect(clock.run(client.fetch(URL_A))).rejects.toBeInstanceOf(QuotaExceededError);
    expect(calls.length).toBe(1);
  });
});

describe('cancellation and timeouts', () => {
  it('aborts while queued for pacing without disturbing the queue', async () => {
    const { clock, client, times } = setup(ok, { limit: { limit: 1, windowMs: 10_000 } });
    const ac = new AbortController();
    const first = client.fetch(URL_A);
    const second = client.fetch(URL_A, { signal: ac.signal });
    const third = client.fetch(URL_A);
    await clock.advance(1000);
    ac.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    await clock.run(Promise.all([first, third]));
    expect(times()).toEqual([0, 10_000]);
  });

  it('aborts during a retry wait', async () => {
    const { clock, client, calls } = setup(() => respond(429, { 'Retry-After': '30' }));
    const ac = new AbortController();
    const p = client.fetch(URL_A, { signal: ac.signal });
    await clock.advance(1000);
    ac.abort(new Error('user gave up'));
    await expect(p).rejects.toThrow('user gave up');
    expect(calls.length).toBe(1);
  });

  it('aborts an in-flight request and does not retry it', async () => {
    const { clock, client, calls } = setup((_req, _i, signal) => hang(signal));
    const ac = new AbortController();
    const p = client.fetch(URL_A, { signal: ac.signal });
    await clock.advance(10);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await clock.advance(60_000);
    expect(calls.length).toBe(1);
  });

  it('rejects immediately when the signal is already aborted', async () => {
    const { client, calls } = setup(ok);
    await expect(client.fetch(URL_A, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls.length).toBe(0);
  });

  it('times out a hung attempt and retries a safe request', async () => {
    const { clock, client, times, events } = setup((_req, i, signal) => (i === 0 ? hang(signal) : ok()), {
      timeoutMs: 1000,
    });
    const res = await clock.run(client.fetch(URL_A));
    expect(res.status).toBe(200);
    expect(times()).toEqual([0, 1100]); // timeout, then half of the 200 ms backoff
    expect(events[0].type).toBe('retry');
    expect(events[0].status).toBeUndefined();
  });

  it('surfaces the timeout for an unsafe request', async () => {
    const { clock, client, calls } = setup((_req, _i, signal) => hang(signal), { timeoutMs: 1000 });
    await expect(clock.run(client.fetch(URL_A, { method: 'POST' }))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(calls.length).toBe(1);
  });
});

describe('robustness', () => {
  it('ignores a throwing onEvent hook', async () => {
    const { clock, client } = setup((_req, i) => (i === 0 ? respond(503) : ok()), {
      onEvent: () => {
        throw new Error('logger broke');
      },
    });
    expect((await clock.run(client.fetch(URL_A))).status).toBe(200);
  });

  it('passes other statuses and the body through untouched', async () => {
    const { clock, client } = setup(() => respond(404, { 'x-a': 'b' }, 'missing'));
    const res = await clock.run(client.fetch(new Request(URL_A, { headers: { accept: 'text/plain' } })));
    expect(res.status).toBe(404);
    expect(res.headers.get('x-a')).toBe('b');
    expect(await res.text()).toBe('missing');
  });

  it('leaves no timers behind after a burst of work', async () => {
    const { clock, client } = setup(ok, { limit: { limit: 10, windowMs: 1000 }, timeoutMs: 5000 });
    await clock.run(Promise.all(Array.from({ length: 20 }, () => client.fetch(URL_A))));
    await settle();
    expect(clock.pendingTimers).toBe(0);
  });
});
