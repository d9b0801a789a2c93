import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** The default grace period of `serve` and `gateway` (--grace-period, SLUICE_GRACE_PERIOD). */
export const DEFAULT_GRACE_MS = 10_000;

/**
 * A connection idle this long is closed at shutdown. Closing one the instant it falls idle races a
 * keep-alive client that is already sending its next request (the request is reset); a client
 * that has sent nothing for this long is not in the middle of one.
 */
const QUIET_MS = 250;

interface Conn {
  socket: Socket;
  active: number;
  idleSince: number;
}

const CONN = Symbol('sluice.connection');
type Tracked = ServerResponse & { [CONN]: Conn };

function onResponseClose(this: Tracked): void {
  const c = this[CONN];
  c.active--;
  c.idleSince = performance.now();
}

/** Stops a server within its grace period (see trackConnections). */
export interface GracefulCloser {
  /** Whether shutdown has begun (responses then carry `Connection: close`). */
  readonly closing: boolean;
  /**
   * Stops accepting connections, answers the requests in flight and those that arrive on open
   * connections meanwhile (each with `Connection: close`, so the client opens no further request
   * on it), closes connections once they are quietly idle, and at `graceMs` destroys whatever is
   * left: nothing is served after the deadline. Resolves when every connection is gone.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Tracks a server's connections from the start, so shutdown knows which are idle and for how
 * long. Install before the server listens.
 */
export function trackConnections(server: Server): GracefulCloser {
  const conns = new Map<Socket, Conn>();
  let closing = false;
  let closed: Promise<void> | undefined;
  server.on('connection', (socket: Socket) => {
    const c: Conn = { socket, active: 0, idleSince: performance.now() };
    conns.set(socket, c);
    socket.once('close', () => conns.delete(socket));
  });
  const onRequest = (req: { socket: Socket }, res: ServerResponse) => {
    const c = conns.get(req.socket);
    if (c) {
      c.active++;
      // A shared listener that finds the connection on the response: no closure per request
      // ('close' is emitted once per response, so `on` needs no `once` wrapper either).
      (res as Tracked)[CONN] = c;
      res.on('close', onResponseClose);
    }
    if (closing && !res.headersSent) res.setHeader('Connection', 'close');
  };
  // Before the application's own listener, so its response carries the header.
  server.prependListener('request', onRequest);
  // Any checkContinue listener turns off node's own answer to `Expect: 100-continue` (100, then
  // 'request'). A server whose application listens for it (the gateway) gets its own answer;
  // for the others this does what node does, so their clients are not left waiting for the 100.
  server.prependListener('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (server.listenerCount('checkContinue') > 1) return onRequest(req, res);
    res.writeContinue();
    server.emit('request', req, res);
  });

  return {
    get closing() {
      return closing;
    },
    close(graceMs = DEFAULT_GRACE_MS) {
      return (closed ??= new Promise<void>((resolve) => {
        closing = true;
        const deadline = performance.now() + graceMs;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearInterval(sweep);
          resolve();
        };
        const tick = () => {
          const now = performance.now();
          for (const c of conns.values()) {
            if (now >= deadline) c.socket.destroy();
            else if (c.active === 0 && now - c.idleSince >= Math.min(QUIET_MS, graceMs / 4)) c.socket.end();
          }
          if (conns.size === 0 && !server.listening) finish();
        };
        const sweep = setInterval(tick, 20);
        sweep.unref();
        // net.Server's close, not http.Server's: that one also closes every connection idle at this
        // instant, resetting the request a keep-alive client may be sending on it right now.
        NetServer.prototype.close.call(server, () => finish());
        tick();
      }));
    },
  };
}
