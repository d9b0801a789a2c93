import type { FakeClock } from './fake-clock.js';

export interface RecordedCall {
  at: number;
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

export type Handler = (req: Request, index: number, signal: AbortSignal | undefined) => Response | Promise<Response>;

/** A fetch stand-in that records when (on the fake clock) and what was sent. */
export function fakeFetch(clock: FakeClock, handler: Handler) {
  const calls: RecordedCall[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const index = calls.length;
    calls.push({ at: clock.now(), url: req.url, method: req.method, headers: req.headers, body: '' });
    calls[index].body = req.body ? await req.text() : '';
    if (init?.signal?.aborted) throw init.signal.reason;
    return handler(req, index, init?.signal ?? undefined);
  };
  return { fetch, calls };
}

export function respond(status: number, headers: Record<string, string> = {}, body = ''): Response {
  return new Response(status === 204 ? null : body, { status, headers });
}

/** A response that never arrives unless the signal aborts (simulates a hung server). */
export function hang(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
}
