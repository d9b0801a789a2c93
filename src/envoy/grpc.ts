/**
 * Envoy's rate-limit service over gRPC on node:http2 directly: routing and refusals here, each
 * call in ./grpc-call.ts, the static codec in ./grpc-codec.ts, the framing in ./grpc-frame.ts,
 * health Watch streams in ./grpc-health.ts. @grpc/grpc-js was the ceiling here: a bare
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
import { Call, endWithStatus, readOneMessage, type Method } from './grpc-call.js';
import { HealthWatchers, type HealthStatus } from './grpc-health.js';
import { GrpcStatus, parseGrpcTimeout, type GrpcStatusCode } from './grpc-status.js';
import { EnvoyCallEndedError, EnvoyRequestError, EnvoyStoreError } from './types.js';

export const RATE_LIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';
const HEALTH_SERVICE = 'grpc.health.v1.Health';

export { callLiveness } from './grpc-call.js';

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

const noop = (): void => {};

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

function secureOptions(credentials: ServerCredentials | undefined): http2.SecureServerOptions {
  if (!credentials?._isSecure()) return {};
  return { ...credentials._getConstructorOptions(), ...credentials._getSecureContextOptions() };
}
