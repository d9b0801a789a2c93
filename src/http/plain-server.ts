import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { drainBody } from './drain.js';
import { errorBody } from './errors.js';

/** Listens on port and host, resolving once bound and rejecting on a bind error (EADDRINUSE, …). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * node:http options of every Sluice server. `requireHostHeader: false` because node's own
 * answer to an HTTP/1.1 request without Host is a 400 with an empty body; the handlers
 * answer it themselves (refuseWithoutHost) with a JSON one.
 */
export const SERVER_OPTIONS = { keepAliveTimeout: 65_000, requireHostHeader: false } as const;

/** HTTP/1.1 without a Host header (RFC 9112 §3.2): 400 with a JSON body. True when it answered. */
export function refuseWithoutHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.host !== undefined || req.httpVersionMinor !== 1 || req.httpVersionMajor !== 1) return false;
  sendPlain(req, res, 400, errorBody('missing_host', 'an HTTP/1.1 request needs a Host header'));
  return true;
}

function sendPlain(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  drainBody(req);
}

/**
 * Every answer node:http would give itself, with a JSON error body as every Sluice error
 * has: 400 for a request it cannot parse, 408 for one that took too long, 431 for headers
 * too large, and 417 for an Expect other than 100-continue (node answers those with an
 * empty body unless someone listens).
 */
export function answerClientErrors(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    sendPlain(req, res, 417, errorBody('expectation_failed', `Expect: ${String(req.headers.expect)} is not supported; only 100-continue is`));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return;
    const [status, reason, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout', 'the request was not received in time']
          : [400, 'Bad Request', 'bad_request', `malformed HTTP request: ${err.message}`];
    const body = JSON.stringify(errorBody(code, message));
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
