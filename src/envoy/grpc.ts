/**
 * Envoy's rate-limit service over gRPC on node:http2 directly, with the static codec of
 * ./grpc-codec.ts and the framing of ./grpc-frame.ts. @grpc/grpc-js was the ceiling here: a bare
 * grpc-js server answering OK without deciding does ≈21k calls/s on this machine, node:http2
 * answering the same bytes ≈33k/s (h2load, bench/grpc.mjs); a service this small needs none of
 * what grpc-js adds on top (interceptors, channelz, reflection-driven codecs).
 *
 * What it keeps of gRPC: the 5-byte framing (split across DATA frames or several in one), status in
 * grpc-status/grpc-message trailers (percent-encoded) or trailers-only for an early refusal,
 * grpc-timeout deadlines, client cancellation (RST_STREAM), a receive size limit
 * (RESOURCE_EXHAUSTED), content-type and grpc-encoding checks, TLS, graceful shutdown (GOAWAY,
 * calls in flight finish, the rest cut at the grace deadline), and grpc.health.v1 Check/Watch.
 */
import http2 from 'node:http2';
import type { ServerCredentials } from '@grpc/grpc-js';
import type { EnvoyRateLimiter } from './limiter.js';
import { decodeHealthCheckRequest, decodeRateLimitRequest, encodeHealthCheckResponse, encodeRateLimitResponse } from './grpc-codec.js';
import { GrpcFrameError, MessageReader } from './grpc-frame.js';
import { encodeGrpcMessage, GrpcStatus, parseGrpcTimeout, type GrpcStatusCode } from './grpc-status.js';
import { EnvoyCallEndedError, EnvoyRequestError, EnvoyStoreError } from './types.js';

export const RATE_LIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';
const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** What a gRPC client may send unless told otherwise (grpc-js's default receive limit). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface EnvoyGrpcOptions {
  /** 0 for an ephemeral port. */
  port: number;
  /** Default 127.0.0.1; "0.0.0.0" or "::" to listen on every interface. */
  host?: string;
  limiter: EnvoyRateLimiter;
  /** TLS (key, cert, ca, requestCert…); default: insecure (envoy talks to its rate-limit service inside the mesh). */
  tls?: http2.SecureServerOptions;
  /** TLS as @grpc/grpc-js ServerCredentials (createSsl); `tls` is the plain-options form of the same. */
  credentials?: ServerCredentials;
  /** Called for store failures (for logs); the call answers UNAVAILABLE. */
  onError?: (error: unknown) => void;
  /** The largest request message accepted; a larger one is refused with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes?: number;
  /** How often health Watch streams re-check the store and send a status that changed. Default 5 s. */
  healthPollMs?: number;
}

export interface EnvoyGrpcServer {
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  server: http2.Http2Server | http2.Http2SecureServer;
  /** Refuses new calls, lets those in flight finish, and cuts the rest after `graceMs` (default 2 s). */
  close(graceMs?: number): Promise<void>;
}

/** Whether a call is still worth deciding: not cancelled by the client, and its deadline (if any) not passed. */
export function callLiveness(call: { cancelled: boolean; getDeadline(): Date | number }): 'live' | 'deadline' | 'cancelled' {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (Number.isFinite(at) && at <= Date.now()) return 'deadline';
  return call.cancelled ? 'cancelled' : 'live';
}

type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
type Method = (call: Call, request: Buffer) => void;

const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS = { 'grpc-status': '0' };
const noop = (): void => {};
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** One call: its stream, its deadline, its request as it arrives, and whether it has been answered. */
class Call {
  answered = false;
  readonly reader: MessageReader;
  /** The request message, once whole, and how many came (a unary call takes exactly one). */
  request: Buffer | undefined;
  count = 0;
  /** A server-streaming call whose headers went out; it ends with trailers of its own. */
  streaming = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly deadline: number,
    readonly method: Method,
    maxBytes: number,
    readonly onError: ((error: unknown) => void) | undefined,
  ) {
    this.reader = new MessageReader(maxBytes);
  }

  readonly take = (message: Buffer): void => {
    this.count++;
    this.request = message;
  };

  /** The client reset the stream (or the connection went) before an answer. */
  get cancelled(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  getDeadline(): number {
    return this.deadline;
  }

  readonly liveness = (): 'live' | 'deadline' | 'cancelled' => callLiveness(this);

  /** A failure of this server's own code while answering: reported, and the call ends INTERNAL (or is reset). */
  readonly crash = (e: unknown): void => {
    this.onError?.(e);
    if (!this.answered) this.fail(GrpcStatus.INTERNAL, 'internal error while answering; the server log has the details');
    else if (!this.streaming && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  };

  /** Answers with one message and grpc-status 0. */
  reply(message: Buffer): void {
    if (!this.settle()) return;
    const s = this.stream;
    s.respond(OK_HEADERS, { waitForTrailers: true });
    s.on('wantTrailers', sendOkTrailers); // each fires once: on() spares once()'s wrapper
    s.end(message);
  }

  /** Answers with a status and no message. */
  fail(code: GrpcStatusCode, message: string): void {
    if (!this.settle()) return;
    endWithStatus(this.stream, code, message);
  }

  /** The deadline passed: a call not yet answered, or a stream still open, ends DEADLINE_EXCEEDED. */
  expire(): void {
    const message = 'the deadline passed before the call was answered';
    if (!this.answered) this.fail(GrpcStatus.DEADLINE_EXCEEDED, message);
    else if (this.streaming) endWithStatus(this.stream, GrpcStatus.DEADLINE_EXCEEDED, message);
  }

  /** Marks the call answered; false when it already was or can no longer be. */
  private settle(): boolean {
    if (this.answered) return false;
    this.answered = true;
    if (this.timer) clearTimeout(this.timer);
    return !this.stream.destroyed && !this.stream.closed;
  }
}

/**
 * Ends a stream with a status: trailers-only when nothing was sent yet, else trailers. A client
 * still sending (a refused message mid-stream) is then told to stop with RST_STREAM(NO_ERROR).
 */
function endWithStatus(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string, httpStatus = 200, extra?: Record<string, string>): void {
  if (stream.destroyed || stream.closed) return;
  const status = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message), ...extra };
  if (stream.headersSent) {
    stream.once('wantTrailers', () => stream.sendTrailers(status));
    stream.end();
  } else {
    stream.respond({ ':status': httpStatus, 'content-type': 'application/grpc', ...status }, { endStream: true });
  }
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** The status of a failed decision; store and unexpected failures go to `onError`, never a stack to the client. */
function statusOf(e: unknown, onError?: (error: unknown) => void): [GrpcStatusCode, string] {
  if (e instanceof EnvoyRequestError) return [GrpcStatus.INVALID_ARGUMENT, e.message];
  if (e instanceof EnvoyCallEndedError) return [e.reason === 'deadline' ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED, e.message];
  onError?.(e);
  if (e instanceof EnvoyStoreError) return [GrpcStatus.UNAVAILABLE, e.message];
  return [GrpcStatus.INTERNAL, 'internal error while deciding; the server log has the details'];
}

/** application/grpc or application/grpc+proto, with or without parameters. */
const GRPC_PROTO = /^application\/grpc(\+proto)?(;|$)/i;

/**
 * Serves envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit and
 * grpc.health.v1.Health (Check, Watch: SERVING while the store answers its ping).
 */
export async function startEnvoyGrpc({ port, host = '127.0.0.1', limiter, tls, credentials, onError, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, healthPollMs = 5000 }: EnvoyGrpcOptions): Promise<EnvoyGrpcServer> {
  const status = async (service: string): Promise<HealthStatus> => {
    if (service !== '' && service !== RATE_LIMIT_SERVICE) return 'SERVICE_UNKNOWN';
    try {
      await limiter.store.ping();
      return 'SERVING';
    } catch {
      return 'NOT_SERVING';
    }
  };
  const watch = new HealthWatchers(status, healthPollMs);

  const methods = new Map<string, Method>([
    [
      `/${RATE_LIMIT_SERVICE}/ShouldRateLimit`,
      (call, bytes) => {
        limiter
          .shouldRateLimit(decodeRateLimitRequest(bytes), call.liveness)
          .then(
            (res) => call.reply(encodeRateLimitResponse(res)),
            (e: unknown) => {
              if (!call.answered) call.fail(...statusOf(e, onError));
            },
          )
          .catch(call.crash);
      },
    ],
    [
      `/${HEALTH_SERVICE}/Check`,
      (call, bytes) => {
        const { service } = decodeHealthCheckRequest(bytes);
        status(service)
          .then((s) => (s === 'SERVICE_UNKNOWN' ? call.fail(GrpcStatus.NOT_FOUND, `unknown service "${service}"`) : call.reply(encodeHealthCheckResponse(s))))
          .catch(call.crash);
      },
    ],
    [`/${HEALTH_SERVICE}/Watch`, (call, bytes) => watch.add(call, decodeHealthCheckRequest(bytes).service)],
  ]);

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    // A reset from the peer surfaces as an error on the stream: that call is over, nothing to report.
    stream.on('error', noop);
    const refusal = refuse(headers, methods);
    if (refusal) return endWithStatus(stream, ...refusal);
    const timeout = headers['grpc-timeout'] as string | undefined;
    let deadline = Infinity;
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      if (ms === undefined) return endWithStatus(stream, GrpcStatus.INTERNAL, `grpc-timeout "${timeout}" is not a timeout (1 to 8 digits and one of H M S m u n)`);
      deadline = Date.now() + ms;
    }
    const call = new Call(stream, deadline, methods.get(headers[':path']!)!, maxMessageBytes, onError);
    if (deadline !== Infinity) call.timer = setTimeout(() => call.expire(), deadline - Date.now());
    readOneMessage(call);
  };

  const server = tls || credentials?._isSecure() ? http2.createSecureServer({ ...secureOptions(credentials), ...tls, allowHTTP1: false }) : http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', onStream);
  // A client's protocol error ends its own connection (node:http2 does that); a server error
  // after listen (e.g. out of file descriptors on accept) is reported, not thrown.
  server.on('sessionError', noop);
  server.on('error', (e) => onError?.(e));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closing: Promise<void> | undefined;

  return {
    port: typeof address === 'object' && address ? address.port : port,
    server,
    close: (graceMs = 2000) =>
      (closing ??= new Promise<void>((resolve) => {
        watch.closeAll();
        // Refuse new calls (GOAWAY on every connection), let calls in flight finish, and cut what is left at the deadline.
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const s of sessions) s.close();
      })),
  };
}

/** Why a call is refused before its request is read (status, message, HTTP status, extra headers), or undefined. */
function refuse(headers: http2.IncomingHttpHeaders, methods: Map<string, Method>): [GrpcStatusCode, string, number?, Record<string, string>?] | undefined {
  const type = headers['content-type'];
  if (type === undefined || !/^application\/grpc/i.test(type)) return [GrpcStatus.INTERNAL, `content-type ${JSON.stringify(type ?? null)} is not application/grpc`, 415];
  if (!GRPC_PROTO.test(type)) return [GrpcStatus.UNIMPLEMENTED, `content-type "${type}": this server speaks protobuf only (application/grpc or application/grpc+proto)`, 415];
  if (headers[':method'] !== 'POST') return [GrpcStatus.UNIMPLEMENTED, `gRPC is called with POST, not ${headers[':method']}`, 405];
  const path = headers[':path'] ?? '';
  if (!methods.has(path)) return [GrpcStatus.UNIMPLEMENTED, `unknown method ${path}; this server has ${[...methods.keys()].join(', ')}`];
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return [GrpcStatus.UNIMPLEMENTED, `grpc-encoding "${encoding}" is not supported; send uncompressed messages`, 200, { 'grpc-accept-encoding': 'identity' }];
  return undefined;
}

/** Gathers the call's one request message (unary and server-streaming calls send exactly one), then runs the method. */
function readOneMessage(call: Call): void {
  const onData = (chunk: Buffer): void => {
    try {
      call.reader.push(chunk, call.take);
    } catch (e) {
      call.stream.off('data', onData);
      call.stream.resume();
      const err = e as GrpcFrameError;
      call.fail(err.kind === 'too-large' ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, err.message);
    }
  };
  call.stream.on('data', onData);
  call.stream.on('end', () => onCallEnd(call));
}

function onCallEnd(call: Call): void {
  if (call.answered) return;
  if (call.reader.partial) return call.fail(GrpcStatus.INTERNAL, 'the stream ended inside a message (a truncated length-prefixed message)');
  const count = call.count;
  if (count !== 1) return call.fail(GrpcStatus.INTERNAL, count === 0 ? 'the call ended without a request message' : `the call sent ${count} request messages; this method takes one`);
  try {
    call.method(call, call.request!);
  } catch (e) {
    if (e instanceof EnvoyRequestError) call.fail(GrpcStatus.INVALID_ARGUMENT, e.message);
    else call.crash(e);
  }
}

function secureOptions(credentials: ServerCredentials | undefined): http2.SecureServerOptions {
  if (!credentials?._isSecure()) return {};
  return { ...credentials._getConstructorOptions(), ...credentials._getSecureContextOptions() };
}

/**
 * grpc.health.v1.Health/Watch streams: each gets the current status at once, then a message
 * whenever it changes (the store is pinged every `pollMs` while any stream is open). On close
 * every stream is told NOT_SERVING and ended with grpc-status 0.
 */
class HealthWatchers {
  private readonly open = new Map<Call, { service: string; last?: HealthStatus }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly status: (service: string) => Promise<HealthStatus>,
    private readonly pollMs: number,
  ) {}

  add(call: Call, service: string): void {
    const stream = call.stream;
    if (stream.destroyed || stream.closed) return;
    call.answered = true;
    call.streaming = true;
    const entry: { service: string; last?: HealthStatus } = { service };
    this.open.set(call, entry);
    stream.once('close', () => {
      if (call.timer) clearTimeout(call.timer);
      this.open.delete(call);
      if (this.open.size === 0) this.stop();
    });
    stream.respond(OK_HEADERS, { waitForTrailers: true });
    this.send(call, entry).catch(call.crash);
    this.timer ??= setInterval(() => {
      for (const [c, e] of this.open) this.send(c, e).catch(c.crash);
    }, this.pollMs).unref();
  }

  private async send(call: Call, entry: { service: string; last?: HealthStatus }): Promise<void> {
    const s = await this.status(entry.service);
    if (s === entry.last || !this.open.has(call)) return;
    entry.last = s;
    call.stream.write(encodeHealthCheckResponse(s));
  }

  closeAll(): void {
    this.stop();
    for (const [call] of this.open) {
      const stream = call.stream;
      if (stream.destroyed || stream.closed) continue;
      stream.once('wantTrailers', sendOkTrailers);
      stream.end(encodeHealthCheckResponse('NOT_SERVING'));
    }
    this.open.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
