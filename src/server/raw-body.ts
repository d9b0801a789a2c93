import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainBody } from '../http/drain.js';
import type { ServerContext } from './context.js';
import { HttpError, sendError } from './respond.js';

/** Told the whole body once it has arrived, with the value handed to readRawBody. */
export type OnBody<A> = (ctx: ServerContext, res: ServerResponse, raw: string, arg: A) => void;

/**
 * Reads a request body on the raw node:http paths (the decision API, Envoy's /json),
 * up to the service's body limit, and hands it over as a string. A body over the limit
 * (declared or as it arrives) is answered 413 at once and the rest is drained unbuffered.
 *
 * Per request this allocates one record on the request and no closures: the listeners are
 * shared functions that find the record through `this` (node calls them on the request),
 * and onBody is a plain function taking what it needs as arguments.
 */
export function readRawBody<A>(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, onBody: OnBody<A>, arg: A): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > ctx.bodyLimit) {
    tooLarge(ctx, req, res);
    return;
  }
  (req as Reading)[READING] = { ctx, res, onBody: onBody as OnBody<unknown>, arg, first: undefined, chunks: undefined, size: 0, done: false };
  req.on('data', onData);
  // No 'error' listener: a request whose client went away is destroyed without 'end'
  // (node:http emits 'error' on it only when someone listens), so nobody is answered.
  req.on('end', onEnd);
}

interface BodyState {
  readonly ctx: ServerContext;
  readonly res: ServerResponse;
  readonly onBody: OnBody<unknown>;
  readonly arg: unknown;
  first: Buffer | undefined;
  chunks: Buffer[] | undefined;
  size: number;
  done: boolean;
}

const READING = Symbol('sluice.rawBody');
type Reading = IncomingMessage & { [READING]: BodyState };

function onData(this: Reading, c: Buffer): void {
  const r = this[READING];
  if (r.done) return;
  r.size += c.length;
  if (r.size > r.ctx.bodyLimit) {
    r.done = true;
    r.first = r.chunks = undefined;
    tooLarge(r.ctx, this, r.res);
    return;
  }
  if (r.first === undefined) r.first = c;
  else (r.chunks ??= [r.first]).push(c);
}

function onEnd(this: Reading): void {
  const r = this[READING];
  if (r.done) return;
  r.done = true;
  const raw = r.chunks ? Buffer.concat(r.chunks).toString('utf8') : r.first ? r.first.toString('utf8') : '';
  r.first = r.chunks = undefined;
  r.onBody(r.ctx, r.res, raw, r.arg);
}

function tooLarge(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  // Answer now; the rest of the body is read and discarded within bounds (never buffered), so
  // the client, still sending, receives the 413 instead of a reset (../http/drain.ts).
  drainBody(req);
  sendError(res, new HttpError(413, 'payload_too_large', `the request body is larger than ${ctx.bodyLimit} bytes`), ctx.closing);
}
