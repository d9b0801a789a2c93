import type { ServerResponse } from 'node:http';
import { errorBody } from '../http/errors.js';
import type { JsonText } from '../http/json-text.js';

/** An error the service answers itself, always as `{ error: { code, message, … } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
  body(): string {
    return JSON.stringify(errorBody(this.code, this.message, this.extra));
  }
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a whole JSON response in one go (raw node:http, for the hot path). A body that turns
 * out to be ASCII (its byte length is its length) with no headers of the caller's is written
 * as latin1, which node copies where it would encode UTF-8: the same bytes. (The caller's
 * headers go out in the same chunk, in the body's encoding, so they keep UTF-8.)
 */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>, close = false): void {
  const bytes = Buffer.byteLength(body);
  send(res, status, body, bytes, bytes === body.length && headers === undefined ? 'latin1' : 'utf8', headers, close);
}

/**
 * sendJson for a body that knows whether it is ASCII (no length scan). The headers must be
 * ASCII too when it is: the decision headers are, being made of rule names (ASCII by the
 * policy schema) and numbers.
 */
export function sendJsonText(res: ServerResponse, status: number, body: JsonText, headers?: Record<string, string>, close = false): void {
  const text = body.text;
  if (body.ascii) send(res, status, text, text.length, 'latin1', headers, close);
  else send(res, status, text, Buffer.byteLength(text), 'utf8', headers, close);
}

function send(res: ServerResponse, status: number, text: string, bytes: number, encoding: BufferEncoding, headers: Record<string, string> | undefined, close: boolean): void {
  // One flat [name, value, …] list: no intermediate header object, one writeHead.
  const h: (string | number)[] = ['content-type', JSON_TYPE, 'content-length', bytes];
  if (headers) for (const k in headers) h.push(k, headers[k]);
  if (close) h.push('connection', 'close');
  res.writeHead(status, h as string[]);
  res.end(text, encoding);
}

export function sendError(res: ServerResponse, e: HttpError, close = false): void {
  sendJson(res, e.status, e.body(), e.headers, close);
}
