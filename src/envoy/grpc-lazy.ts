import type { EnvoyGrpcOptions, EnvoyGrpcServer } from './grpc.js';

/**
 * Starts Envoy's gRPC RateLimitService (see ./grpc.ts), loaded when a gRPC server is started,
 * not when `sluice` or `sluice/envoy` is imported. @grpc/grpc-js and its proto loader (≈250 ms
 * to load) are loaded only by loadEnvoyProtos, for clients.
 */
export async function startEnvoyGrpc(opts: EnvoyGrpcOptions): Promise<EnvoyGrpcServer> {
  return (await import('./grpc.js')).startEnvoyGrpc(opts);
}

/** The rate-limit and health service definitions, for @grpc/grpc-js clients (loads @grpc/grpc-js). */
export async function loadEnvoyProtos(): Promise<unknown> {
  return (await import('./grpc-protos.js')).loadEnvoyProtos();
}
