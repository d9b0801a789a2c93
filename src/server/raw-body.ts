import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { HttpError, sendError } from './respond.js';

/**
 * Reads a request body on the raw node:http paths (the decision API, Envoy's /json),
 * up to the service's body limit, and hands it over as a string. A body over the limit
 * (declared or as it arrives) is answered 413 and the connection closed, so the rest is
 * never buffered.
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
  // Stop reading: answer and close, so the rest of the body is never buffered.
  req.pause();
  const e = new HttpError(413, 'payload_too_large', `the request body is larger than ${ctx.bodyLimit} bytes`);
  res.once('finish', () => req.destroy());
  sendError(res, e, true);
}
