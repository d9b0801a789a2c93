import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainBody } from '../http/drain.js';
import type { ServerContext } from './context.js';
import { HttpError, sendError } from './respond.js';

/**
 * Reads a request body on the raw node:http paths (the decision API, Envoy's /json),
 * up to the service's body limit, and hands it over as a string. A body over the limit
 * (declared or as it arrives) is answered 413 at once and the rest is drained unbuffered.
 */
export function readRawBody(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, onBody: (raw: string) => void): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > ctx.bodyLimit) {
    tooLarge(ctx, req, res);
    return;
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let done = false;
  req.on('data', (c: Buffer) => {
    if (done) return;
    size += c.length;
    if (size > ctx.bodyLimit) {
      done = true;
      tooLarge(ctx, req, res);
      return;
    }
    if (first === undefined) first = c;
    else (chunks ??= [first]).push(c);
  });
  // No 'error' listener: a request whose client went away is destroyed without 'end'
  // (node:http emits 'error' on it only when someone listens), so nobody is answered.
  req.on('end', () => {
    if (done) return;
    done = true;
    onBody(chunks ? Buffer.concat(chunks).toString('utf8') : first ? first.toString('utf8') : '');
  });
}

function tooLarge(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  // Answer now; the rest of the body is read and discarded within bounds (never buffered), so
  // the client, still sending, receives the 413 instead of a reset (../http/drain.ts).
  drainBody(req);
  sendError(res, new HttpError(413, 'payload_too_large', `the request body is larger than ${ctx.bodyLimit} bytes`), ctx.closing);
}
