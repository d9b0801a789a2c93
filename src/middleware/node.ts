import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainBody, drainSink, type DrainSink } from '../http/drain.js';
import type { RequestInfo } from '../http/subject.js';
import { type Enforcer, type Prepared, type Refusal, refusalHeaders } from './core.js';

/** Helpers shared by the adapters whose requests are Node's IncomingMessage (Express, Fastify). */

export function requestInfo(req: IncomingMessage, url?: string): RequestInfo {
  return { method: req.method ?? 'GET', url: url ?? req.url ?? '/', headers: req.headers, remoteAddress: req.socket?.remoteAddress, forwardedFor: forwardedForLines(req), rawHeaders: req.rawHeaders };
}

/** The X-Forwarded-For header lines as received (node joins them in req.headers), when there is more than one. */
export function forwardedForLines(req: IncomingMessage): string[] | undefined {
  if (req.headers['x-forwarded-for'] === undefined) return undefined;
  const raw = req.rawHeaders;
  let lines: string[] | undefined;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 15 && raw[i].toLowerCase() === 'x-forwarded-for') {
      (lines ??= []).push(raw[i + 1]);
      n++;
    }
  }
  return n > 1 ? lines : undefined;
}

export function sendRefusal(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  if (res.headersSent) return;
  res.writeHead(r.status, refusalHeaders(r));
  res.end(r.body);
  // The rest of the body is read and discarded within bounds, so the client gets the answer.
  // A metered body is already being discarded chunk by chunk (meterIncoming): bound that.
  const metered = discarding.get(req);
  if (metered) metered.sink ??= drainSink(req);
  else drainBody(req);
}

/** Requests whose body meterIncoming discards after a crossed cap. */
const discarding = new WeakMap<IncomingMessage, { sink?: DrainSink }>();

export function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const k in headers) res.setHeader(k, headers[k]);
}

/**
 * Counts the bytes an app writes to the response, then records the outcome once the
 * response is finished (or the client left), for outcome and byte-quota rules.
 */
export function recordAfterResponse(enforcer: Enforcer, p: Prepared, res: ServerResponse): void {
  if (p.record === 'none') return;
  let bytes = 0;
  if (p.record === 'bytes') {
    const write = res.write;
    const end = res.end;
    const count = (chunk: unknown, encoding: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array).length;
    };
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      count(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      count(chunk, rest[0]);
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as ServerResponse['end'];
  }
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    enforcer.finish(p, res.statusCode, bytes);
  };
  res.once('finish', finish);
  res.once('close', finish);
}

/**
 * Meters the request body as it arrives, without reading it: the chunks the HTTP parser
 * pushes into the request stream pass through the cap meter first. The app's body parser
 * reads the stream as usual. On a crossed cap the rest of the body is discarded (never
 * reaching the parser, so the app never sees a complete body) and Sluice answers.
 *
 * This wraps the stream's `push`, which Node's HTTP parser feeds; it must be installed
 * before anything reads the body — mount the middleware first.
 */
export function meterIncoming(req: IncomingMessage, p: Prepared, onViolation: (p: Prepared) => void): void {
  const meter = p.meter;
  if (!meter) return;
  const push = req.push;
  let stopped: { sink?: DrainSink } | undefined;
  const stop = () => {
    stopped = {};
    discarding.set(req, stopped);
    onViolation(p);
  };
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (stopped) {
      // discard, keeping the socket flowing (within the drain's bounds) so the client reads our answer
      if (chunk === null) stopped.sink?.end();
      else stopped.sink?.data(typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length);
      return true;
    }
    if (chunk === null) {
      if (meter.end()) {
        stop();
        return true;
      }
      return push.call(this, chunk, encoding);
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : (chunk as Uint8Array);
    if (meter.push(buf)) {
      stop();
      return true;
    }
    return push.call(this, chunk, encoding);
  };
}
