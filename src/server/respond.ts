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
  const h: Record<string, string | number> = headers ? Object.assign({}, headers) : {};
  h['content-type'] = JSON_TYPE;
  h['content-length'] = Buffer.byteLength(body);
  if (close) h.connection = 'close';
  res.writeHead(status, h);
  res.end(body);
}

export function sendError(res: ServerResponse, e: HttpError, close = false): void {
  sendJson(res, e.status, e.body(), e.headers, close);
}
