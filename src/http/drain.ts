import type { IncomingMessage } from 'node:http';

/**
 * Reading the rest of a refused body, so that the refusal arrives.
 *
 * When a server answers 413 and closes while the client is still sending, the client's
 * kernel gets a reset, and Node's fetch (undici) then reports ECONNRESET or EPIPE instead
 * of the answer: before this, a 10 MB body to /v1/check got its 413 in 3 of 20 tries.
 * So a refused request is answered at once, without `Connection: close`, and what the
 * client still sends is read and thrown away. A client that sends more than
 * DRAIN_MAX_BYTES after the refusal, or is still sending after DRAIN_MAX_MS, is cut off:
 * draining must not become a way to hold a connection or burn bandwidth for free.
 */

/** Bytes read and discarded after a refusal before the connection is cut. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** How long a refused body may keep coming before the connection is cut. */
export const DRAIN_MAX_MS = 10_000;

export interface DrainLimits {
  maxBytes?: number;
  maxMs?: number;
}

/** A place to report discarded body bytes when the caller, not the stream, sees them (see middleware/node.ts). */
export interface DrainSink {
  data(bytes: number): void;
  end(): void;
}

/**
 * Reads and discards the rest of req's body (it was refused), within the bounds; the
 * connection stays usable when the body ends in time. Safe to call twice and on a
 * request already complete.
 */
export function drainBody(req: IncomingMessage, limits: DrainLimits = {}): void {
  if (req.complete || req.destroyed || draining.has(req)) return;
  const sink = drainSink(req, limits);
  req.on('data', (c: Buffer) => sink.data(c.length));
  req.once('end', () => sink.end());
  req.resume();
}

const draining = new WeakSet<IncomingMessage>();

/** The bounds of drainBody, for a body whose chunks the caller intercepts itself. */
export function drainSink(req: IncomingMessage, limits: DrainLimits = {}): DrainSink {
  draining.add(req);
  const maxBytes = limits.maxBytes ?? DRAIN_MAX_BYTES;
  let bytes = 0;
  let over = false;
  const socket = req.socket;
  // Stops the timer; the socket's listener goes too, so a keep-alive connection that drains
  // many refused bodies does not collect one per request.
  const stop = () => {
    clearTimeout(timer);
    socket?.off('close', stop);
  };
  const cut = () => {
    if (over) return;
    over = true;
    stop();
    socket?.destroy();
  };
  const timer = setTimeout(cut, limits.maxMs ?? DRAIN_MAX_MS);
  timer.unref();
  socket?.once('close', stop);
  return {
    data(n) {
      bytes += n;
      if (bytes > maxBytes) cut();
    },
    end() {
      stop();
    },
  };
}
