import { fullJitter } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { QuotaExceededError, RateLimitedError } from './errors.js';
import { parseRateLimitHeaders, type RateLimitInfo } from './headers.js';
import type { PaceLimit } from './pacer-state.js';
import { ReplayableRequest, isRetrySafe } from './replayable-request.js';
import { Scheduler } from './scheduler.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Total attempts per call, first one included (default 5). Polls on 202 count too. */
  maxAttempts?: number;
  /** Backoff base (default 200 ms). */
  baseMs?: number;
  /** Backoff ceiling (default 30 000 ms). */
  capMs?: number;
  /** No retry is started if it would end later than this after the first send (default 120 000 ms). */
  maxElapsedMs?: number;
}

export type ClientEventType = 'wait' | 'retry' | 'poll' | 'quota' | 'giveup';

export interface ClientEvent {
  type: ClientEventType;
  key: string;
  /** How long we are about to wait (0 for giveup; time until reset for quota). */
  delayMs: number;
  /** The attempt number the event relates to (1-based). */
  attempt: number;
  /** Status of the response that caused the event, if any. */
  status?: number;
  policy?: string;
}

export interface ClientOptions {
  /** Published limit to pace against, per key. Without it the client paces only on what servers say. */
  limit?: PaceLimit;
  /** Pacing key for a request (per account, tenant, token...). Default: the URL origin. */
  keyFor?: (request: Request) => string;
  retry?: RetryOptions;
  /** Per-attempt timeout; a timed-out attempt of a retry-safe request is retried. */
  timeoutMs?: number;
  /** Re-send retry-safe requests answered 202 until a final response (default true). */
  pollOn202?: boolean;
  /** Extra ms added to configured windows and server-dictated waits, for jitter and clock skew (default 0). */
  safetyMarginMs?: number;
  /** Called for every wait, retry, poll, quota refusal and give-up; exceptions are ignored. */
  onEvent?: (event: ClientEvent) => void;
  clock?: Clock;
  /** Uniform [0, 1) source for jitter (default Math.random). */
  random?: () => number;
  /** Underlying fetch (default globalThis.fetch). */
  fetch?: FetchLike;
  /** Bound on remembered keys; idle ones are forgotten beyond it (default 10 000). */
  maxKeys?: number;
}

/** RequestInit plus per-call options. */
export interface SluiceRequestInit extends RequestInit {
  /** Sent as `Idempotency-Key`, which makes a non-idempotent request (POST, PATCH) safe to retry. */
  idempotencyKey?: string;
}

export interface SluiceClient {
  /** Same contract as global fetch, but paced, retried and limit-aware. */
  fetch(input: string | URL | Request, init?: SluiceRequestInit): Promise<Response>;
}

const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 5, baseMs: 200, capMs: 30_000, maxElapsedMs: 120_000 };

export function createClient(options: ClientOptions = {}): SluiceClient {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
  const margin = Math.max(0, options.safetyMarginMs ?? 0);
  const pollOn202 = options.pollOn202 ?? true;
  const keyFor = options.keyFor ?? ((request: Request) => new URL(request.url).origin);
  const scheduler = new Scheduler(clock, { limit: options.limit, marginMs: margin }, options.maxKeys);

  const emit = (event: ClientEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // Logging must never change the outcome of a request.
    }
  };

  const quotaError = (key: string, attempts: number): QuotaExceededError => {
    const state = scheduler.state(key);
    const retryAfterMs = Math.max(0, state.exhaustedUntil - clock.now());
    emit({ type: 'quota', key, delayMs: retryAfterMs, attempt: attempts, status: 509, policy: state.exhaustedPolicy });
    return new QuotaExceededError(`Quota exhausted for ${key}; resets in ${Math.ceil(retryAfterMs)} ms`, {
      key,
      status: 509,
      retryAfterMs,
      policy: state.exhaustedPolicy,
      attempts,
    });
  };

  /** One network attempt, bounded by the caller's signal and the per-attempt timeout. */
  const sendOnce = async (req: ReplayableRequest, userSignal: AbortSignal): Promise<Response> => {
    const underlying = options.fetch ?? globalThis.fetch;
    if (options.timeoutMs === undefined) return underlying(req.url, req.init(userSignal));
    const timeout = new AbortController();
    const stopTimer = new AbortController();
    // The timer runs on the injected clock, so timeouts are deterministic in tests.
    clock.sleep(options.timeoutMs, stopTimer.signal).then(
      () => timeout.abort(new DOMException(`Attempt timed out after ${options.timeoutMs} ms`, 'TimeoutError')),
      () => {},
    );
    try {
      // The combined signal also covers reading the body, so a later user abort still cancels it.
      return await underlying(req.url, req.init(AbortSignal.any([userSignal, timeout.signal])));
    } finally {
      stopTimer.abort();
    }
  };

  async function clientFetch(input: string | URL | Request, init?: SluiceRequestInit): Promise<Response> {
    const { idempotencyKey, ...rest } = init ?? {};
    const request = new Request(input, rest);
    if (idempotencyKey !== undefined && !request.headers.has('idempotency-key')) {
      request.headers.set('Idempotency-Key', idempotencyKey);
    }
    const key = keyFor(request);
    const userSignal = request.signal;
    const retrySafe = isRetrySafe(request.method, request.headers);
    const { body: _b, headers: _h, method: _m, signal: _s, ...passthrough } = rest;
    const req = await ReplayableRequest.from(request, passthrough);

    let attempt = 0;
    let firstSendAt: number | undefined;

    /** Delay before the next attempt if it fits the bounds, else undefined. */
    const nextDelay = (delayMs: number): number | undefined => {
      if (attempt >= retry.maxAttempts) return undefined;
      const elapsedAfter = clock.now() + delayMs - (firstSendAt ?? clock.now());
      return elapsedAfter > retry.maxElapsedMs ? undefined : delayMs;
    };
    const backoff = (): number => fullJitter(attempt - 1, retry, random);
    const giveUp = (status: number | undefined, policy: string | undefined): void =>
      emit({ type: 'giveup', key, delayMs: 0, attempt, status, policy });

    for (;;) {
      if (scheduler.state(key).isExhausted(clock.now())) throw quotaError(key, attempt);
      // A key the server holds for longer than the retry budget (a 15-minute lockout, 120 s of
      // budget) fails fast, as a retry would give up: waiting would outlast maxElapsedMs silently.
      const heldMs = scheduler.state(key).blockedUntil - clock.now();
      if (heldMs > retry.maxElapsedMs) {
        giveUp(429, scheduler.state(key).policy);
        throw new RateLimitedError(`Rate limited on ${key}: held for ${Math.ceil(heldMs / 1000)} s, past the retry budget (maxElapsedMs)`, { key, status: 429, retryAfterMs: heldMs, policy: scheduler.state(key).policy, attempts: attempt });
      }
      await scheduler.acquire(key, userSignal, (delayMs) =>
        emit({ type: 'wait', key, delayMs, attempt: attempt + 1, policy: scheduler.state(key).policy }),
      );
      // A 509 on another request may have landed while we were queued.
      if (scheduler.state(key).isExhausted(clock.now())) {
        scheduler.complete(key, undefined, false);
        throw quotaError(key, attempt);
      }
      attempt++;
      firstSendAt ??= clock.now();

      let response: Response;
      try {
        response = await sendOnce(req, userSignal);
      } catch (err) {
        scheduler.complete(key);
        if (userSignal.aborted) throw userSignal.reason ?? err;
        // Timeouts and network failures are transient; retry only if repeating is harmless.
        const delay = retrySafe && isTransient(err) ? nextDelay(backoff()) : undefined;
        if (delay === undefined) {
          if (retrySafe) giveUp(undefined, undefined);
          throw err;
        }
        emit({ type: 'retry', key, delayMs: delay, attempt });
        await clock.sleep(delay, userSignal);
        continue;
      }

      const now = clock.now();
      const info = parseRateLimitHeaders(response.headers, now);
      const status = response.status;
      scheduler.complete(key, info, status !== 429 && status !== 503 && status !== 509);

      if (status === 509) {
        const resetMs = info.retryAfterMs ?? info.resetMs;
        const policy = info.policy;
        if (resetMs !== undefined) {
          scheduler.exhaust(key, now + resetMs + margin, policy, () => quotaError(key, 0));
        }
        emit({ type: 'quota', key, delayMs: resetMs ?? 0, attempt, status, policy });
        throw new QuotaExceededError(`Quota exceeded (509) for ${key}`, {
          key,
          status,
          retryAfterMs: resetMs,
          policy,
          response,
          attempts: attempt,
        });
      }

      if (status === 429 || status === 503) {
        const serverDelay = serverWaitMs(info);
        const wanted = serverDelay !== undefined ? serverDelay + margin : backoff();
        // A 429 is about this key, so hold its other requests too. A 503 is about the server;
        // only hold the key when the server said for how long.
        if (status === 429 || serverDelay !== undefined) scheduler.block(key, now + wanted);
        const delay = retrySafe ? nextDelay(wanted) : undefined;
        if (delay === undefined) {
          giveUp(status, info.policy);
          const why = retrySafe ? `after ${attempt} attempt(s)` : `(${request.method} is not safe to retry without an Idempotency-Key)`;
          throw new RateLimitedError(`Rate limited (${status}) on ${key} ${why}`, {
            key,
            status,
            retryAfterMs: serverDelay,
            policy: info.policy,
            response,
            attempts: attempt,
          });
        }
        emit({ type: 'retry', key, delayMs: delay, attempt, status, policy: info.policy });
        await discard(response);
        await clock.sleep(delay, userSignal);
        continue;
      }

      // 202 "accepted, come back later": polling re-sends the request, so it needs the same safety as a retry.
      if (status === 202 && pollOn202 && retrySafe) {
        const delay = nextDelay(info.retryAfterMs !== undefined ? info.retryAfterMs + margin : backoff());
        if (delay === undefined) {
          giveUp(status, info.policy);
          return response; // still a valid answer: the caller can keep polling itself
        }
        emit({ type: 'poll', key, delayMs: delay, attempt, status, policy: info.policy });
        await discard(response);
        await clock.sleep(delay, userSignal);
        continue;
      }

      return response;
    }
  }

  return { fetch: clientFetch };
}

/** How long the server asked us to wait on a 429/503: Retry-After, else the reset when nothing remains. */
function serverWaitMs(info: RateLimitInfo): number | undefined {
  if (info.retryAfterMs !== undefined) return info.retryAfterMs;
  if (info.remaining === 0 && info.resetMs !== undefined) return info.resetMs;
  return undefined;
}

function isTransient(err: unknown): boolean {
  // Our own per-attempt timeout, or undici's "fetch failed" network TypeError.
  return (err instanceof DOMException && err.name === 'TimeoutError') || err instanceof TypeError;
}

/** Frees the connection of a response we will not hand to the caller. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Already closed or errored: nothing to free.
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
