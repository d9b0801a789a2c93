import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { EnvoyRateLimiter } from './limiter.js';
import { EnvoyCallEndedError, EnvoyRequestError, EnvoyStoreError, type RateLimitRequest, type RateLimitResponse } from './types.js';

/**
 * The .proto files ship in the package's top-level proto/ directory (tsc does not copy
 * them): two levels up from src/envoy/ when run from source, and from dist/envoy/ when built.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Loads the rate-limit service and the health service definitions. */
export function loadEnvoyProtos(): grpc.GrpcObject {
  const def = protoLoader.loadSync(['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def);
}

export const RATE_LIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

export interface EnvoyGrpcOptions {
  /** 0 for an ephemeral port. */
  port: number;
  /** Default 127.0.0.1; "0.0.0.0" or "::" to listen on every interface. */
  host?: string;
  limiter: EnvoyRateLimiter;
  /** Default: insecure (envoy talks to its rate-limit service inside the mesh). */
  credentials?: grpc.ServerCredentials;
  /** Called for store failures (for logs); the call answers UNAVAILABLE. */
  onError?: (error: unknown) => void;
}

export interface EnvoyGrpcServer {
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  server: grpc.Server;
  /** Refuses new calls, lets those in flight finish, and cuts the rest after `graceMs` (default 2 s). */
  close(graceMs?: number): Promise<void>;
}

type Service = grpc.ServiceClientConstructor;

/** Whether a call is still worth deciding: not cancelled by the client, and its deadline (if any) not passed. */
export function callLiveness(call: grpc.ServerUnaryCall<unknown, unknown>): 'live' | 'deadline' | 'cancelled' {
  if (call.cancelled) return 'cancelled';
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(at) && at <= Date.now() ? 'deadline' : 'live';
}

/**
 * Serves envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit and
 * grpc.health.v1.Health (Check: SERVING while the store answers its ping).
 */
export async function startEnvoyGrpc({ port, host = '127.0.0.1', limiter, credentials, onError }: EnvoyGrpcOptions): Promise<EnvoyGrpcServer> {
  const pkg = loadEnvoyProtos();
  const rls = ((pkg.envoy as grpc.GrpcObject).service as grpc.GrpcObject).ratelimit as grpc.GrpcObject;
  const rlsService = ((rls.v3 as grpc.GrpcObject).RateLimitService as Service).service;
  const healthService = (((pkg.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject).Health as Service;

  const server = new grpc.Server();
  server.addService(rlsService, {
    ShouldRateLimit(call: grpc.ServerUnaryCall<RateLimitRequest, RateLimitResponse>, callback: grpc.sendUnaryData<RateLimitResponse>) {
      limiter.shouldRateLimit(call.request, () => callLiveness(call)).then(
        (res) => callback(null, res),
        (e: unknown) => {
          if (e instanceof EnvoyRequestError) return callback({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
          if (e instanceof EnvoyCallEndedError) return callback({ code: e.reason === 'deadline' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED, details: e.message });
          onError?.(e);
          if (e instanceof EnvoyStoreError) return callback({ code: grpc.status.UNAVAILABLE, details: e.message });
          callback({ code: grpc.status.INTERNAL, details: (e as Error)?.message ?? String(e) });
        },
      );
    },
  });

  const watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const status = async (service: string): Promise<'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'> => {
    if (service !== '' && service !== RATE_LIMIT_SERVICE) return 'SERVICE_UNKNOWN';
    try {
      await limiter.store.ping();
      return 'SERVING';
    } catch {
      return 'NOT_SERVING';
    }
  };
  server.addService(healthService.service, {
    Check(call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      void status(call.request.service ?? '').then((s) => {
        if (s === 'SERVICE_UNKNOWN') callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        else callback(null, { status: s });
      });
    },
    // The current status once; the stream stays open (as the protocol expects) until the client leaves.
    Watch(call: grpc.ServerWritableStream<{ service?: string }, unknown>) {
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
      void status(call.request.service ?? '').then((s) => call.write({ status: s }));
    },
  });

  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    port: bound,
    server,
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.end();
        watchers.clear();
        // Refuse new calls (GOAWAY), let calls in flight finish, and cut what is left at the deadline.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
