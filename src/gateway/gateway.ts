import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import type { Sluice } from '../engine/sluice.js';
import { drainBody } from '../http/drain.js';
import { errorBody } from '../http/errors.js';
import { answerClientErrors, listen, refuseWithoutHost, SERVER_OPTIONS } from '../http/plain-server.js';
import { DEFAULT_GRACE_MS, trackConnections } from '../http/graceful-close.js';
import { requestInfo } from '../middleware/node.js';
import { CapExceededError, Enforcer, internalError, logOneLine, refusal, refusalHeaders, type EnforcerOptions, type Prepared, type Refusal } from '../middleware/core.js';
import { isAdminPath, startGatewayAdmin, type GatewayAdmin, type GatewayAdminOptions } from './admin.js';

export interface GatewayOptions extends EnforcerOptions {
  /** The API behind the gateway, e.g. http://127.0.0.1:3000 (a path prefix is kept: http://host/api). */
  upstream: string;
  /** Listening port (0 or absent: any free port). */
  port?: number;
  /** Listening address (default 127.0.0.1). */
  host?: string;
  /** How long the upstream may take to send response headers, and between body chunks (default 30 s): then 504. */
  upstreamTimeoutMs?: number;
  /** Keep-alive connections to the upstream (default 128). */
  connections?: number;
  /**
   * Serve an admin API (overrides, attributes such as licensed_agents, reset, inspect,
   * reload) from the gateway: `{ api: (sluice) => createAdminApi({ sluice, log, adminToken }) }`
   * with createAdminApi from sluice/server, and `port` for a port of its own. See ./admin.ts.
   */
  admin?: GatewayAdminOptions;
}

export interface Gateway {
  readonly port: number;
  readonly host: string;
  /** http://host:port */
  readonly url: string;
  readonly server: Server;
  readonly sluice: Sluice;
  /** http://host:adminPort, when the admin API has a port of its own. */
  readonly adminUrl?: string;
  readonly adminPort?: number;
  /** Stops within the grace period (default 10 s): see trackConnections (../http/graceful-close.ts). */
  close(graceMs?: number): Promise<void>;
}

// Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const UNREACHED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The Sluice gateway: a reverse proxy that decides every request before forwarding it.
 * Denials and drops are answered here (the upstream never sees them); admitted requests
 * are streamed both ways without buffering, with the rate-limit headers added, their
 * payload caps enforced as the body passes, and their status and response bytes
 * recorded after the response for outcome and byte-quota rules.
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const enforcer = await Enforcer.create(opts);
  const upstream = new URL(opts.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new TypeError(`gateway upstream must be http(s): ${opts.upstream}`);
  const prefix = upstream.pathname === '/' ? '' : upstream.pathname.replace(/\/$/, '');
  const timeout = opts.upstreamTimeoutMs ?? 30_000;
  const pool = new Pool(upstream.origin, {
    connections: opts.connections ?? 128,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connect: { timeout: Math.min(timeout, 10_000) },
  });

  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    try {
      handleRequest(req, res, expectsContinue);
    } catch (e) {
      logOneLine(e);
      sendRefusal(req, res, internalError());
    }
  };

  const host = opts.host ?? '127.0.0.1';
  let admin: GatewayAdmin | undefined;
  if (opts.admin) {
    admin = await startGatewayAdmin(enforcer.sluice, opts.admin, host).catch(async (e: unknown) => {
      if (!opts.sluice) await enforcer.sluice.close();
      throw e;
    });
  }
  const adminHere = admin?.handle;

  const handleRequest = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    if (adminHere && isAdminPath(req.url)) {
      // The admin API reads every body it is sent, as node answers for the service's (no checkContinue listener there).
      if (expectsContinue) res.writeContinue();
      return adminHere(req, res);
    }
    const p = enforcer.prepare(requestInfo(req), req.headers['content-type'], req.headers['content-length']);
    if (p.refused) return sendRefusal(req, res, p);
    enforcer.decide(p).then(
      (r) => {
        if (r.refused) return sendRefusal(req, res, r);
        if (expectsContinue) res.writeContinue();
        forward(req, res, r);
      },
      (e) => {
        (opts.onError ?? logOneLine)(e);
        sendRefusal(req, res, internalError());
      },
    );
  };

  const forward = (req: IncomingMessage, res: ServerResponse, p: Prepared): void => {
    const headers: Record<string, string | string[]> = {};
    const inbound = req.headers;
    for (const k in inbound) {
      const v = inbound[k];
      if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    }
    const peer = req.socket.remoteAddress ?? '';
    const prior = inbound['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${peer}` : peer;
    headers['x-forwarded-proto'] = 'http';
    if (inbound.host) headers['x-forwarded-host'] = inbound.host;

    const hasBody = (inbound['content-length'] !== undefined && inbound['content-length'] !== '0') || inbound['transfer-encoding'] !== undefined;
    const handler = new ProxyHandler(enforcer, req, res, p);
    // undici accepts async iterables as bodies at run time; its types only list streams.
    const body = !hasBody ? null : p.meter ? (meteredBody(req, p, handler) as unknown as IncomingMessage) : req;
    pool.dispatch({ origin: upstream.origin, path: prefix + (req.url ?? '/'), method: req.method as Dispatcher.HttpMethod, headers, body }, handler);
  };

  const server = createServer(SERVER_OPTIONS, (req, res) => refuseWithoutHost(req, res) || handle(req, res, false));
  // Expect: 100-continue — decide (and check caps) before the client sends the body.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => refuseWithoutHost(req, res) || handle(req, res, true));
  answerClientErrors(server);
  const closer = trackConnections(server);

  try {
    await listen(server, opts.port ?? 0, host);
  } catch (e) {
    await admin?.close(0);
    if (!opts.sluice) await enforcer.sluice.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const ownsEngine = !opts.sluice;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}`;
  return {
    port,
    host,
    url: `${origin}:${port}`,
    server,
    sluice: enforcer.sluice,
    ...(admin?.port !== undefined ? { adminPort: admin.port, adminUrl: `${origin}:${admin.port}` } : {}),
    async close(graceMs = DEFAULT_GRACE_MS) {
      await Promise.all([closer.close(graceMs), admin?.close(graceMs)]);
      await pool.close().catch(() => pool.destroy());
      if (ownsEngine) await enforcer.sluice.close();
    },
  };
}

function sendRefusal(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(r.status, refusalHeaders(r));
  res.end(r.body);
  // Keep reading (and discarding, within bounds) what the client still sends, so it gets to read the answer.
  drainBody(req);
}

/**
 * The request body, passed through the cap meter chunk by chunk. A chunk that crosses a
 * cap is not forwarded: the generator throws, undici aborts the upstream request (which
 * never sees a complete body) and the handler answers 413/422.
 */
async function* meteredBody(req: IncomingMessage, p: Prepared, handler: ProxyHandler): AsyncGenerator<Buffer> {
  const meter = p.meter!;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    const v = meter.push(chunk);
    if (v) {
      handler.violation = v;
      throw new CapExceededError(v);
    }
    yield chunk;
  }
  const v = meter.end();
  if (v) {
    handler.violation = v;
    throw new CapExceededError(v);
  }
}

/** Streams one upstream response to the client, counting bytes for byte quotas. */
class ProxyHandler implements Dispatcher.DispatchHandler {
  violation?: CapExceededError['violation'];
  private bytes = 0;
  private status = 0;
  private done = false;
  private controller?: Dispatcher.DispatchController;
  private resumeFn?: () => void;

  constructor(
    private readonly enforcer: Enforcer,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly p: Prepared,
  ) {
    res.once('close', () => {
      // The client left before the end: stop the upstream transfer, record what was sent.
      if (!this.done) {
        this.controller?.abort(new Error('client closed the connection'));
        this.finish();
      }
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const out: OutgoingHttpHeaders = {};
    for (const k in headers) if (!HOP_BY_HOP.has(k)) out[k] = headers[k];
    const own = this.p.decision?.headers;
    if (own) for (const k in own) out[k] = own[k];
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', (this.resumeFn ??= () => controller.resume()));
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const v = this.violation ?? (err instanceof CapExceededError ? err.violation : undefined);
    if (v) {
      this.done = true;
      sendRefusal(this.req, this.res, this.enforcer.capped(this.p, v));
      return;
    }
    if (this.res.headersSent) {
      // Mid-body failure: the status is already out; cut the response so the client sees it is incomplete.
      this.finish();
      this.res.destroy(err);
      return;
    }
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code ?? '';
    if (UNREACHED_CODES.has(code)) this.enforcer.refund(this.p);
    this.done = true;
    const own = this.p.decision?.headers ?? {};
    if (TIMEOUT_CODES.has(code)) {
      sendRefusal(this.req, this.res, refusal(504, own, errorBody('upstream_timeout', 'The upstream API did not answer in time.', { upstreamError: code })));
    } else {
      sendRefusal(this.req, this.res, refusal(502, own, errorBody('upstream_unavailable', `The upstream API could not be reached or failed mid-request (${code || err.message}).`, { upstreamError: code || undefined })));
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.p.record !== 'none') this.enforcer.finish(this.p, this.status, this.bytes);
  }
}
