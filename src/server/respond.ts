import type { ServerResponse } from 'node:http';
import { errorBody } from '../http/errors.js';

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

/** Writes a whole JSON response in one go (raw node:http, for the hot path). */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>, close = false): void {
  // One flat [name, value, …] list: no intermediate header object, one writeHead.
  const h: (string | number)[] = ['content-type', JSON_TYPE, 'content-length', Buffer.byteLength(body)];
  if (headers) for (const k in headers) h.push(k, headers[k]);
  if (close) h.push('connection', 'close');
  res.writeHead(status, h as string[]);
  res.end(body);
}

export function sendError(res: ServerResponse, e: HttpError, close = false): void {
  sendJson(res, e.status, e.body(), e.headers, close);
}
