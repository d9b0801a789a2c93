import type { EnvoyGrpcOptions, EnvoyGrpcServer } from './grpc.js';

/**
 * Starts Envoy's gRPC RateLimitService (see ./grpc.ts). @grpc/grpc-js and its proto
 * loader take ≈250 ms to load, so they are loaded when a gRPC server is started, not
 * when `sluice` or `sluice/envoy` is imported.
 */
export async function startEnvoyGrpc(opts: EnvoyGrpcOptions): Promise<EnvoyGrpcServer> {
  return (await import('./grpc.js')).startEnvoyGrpc(opts);
}

/** The rate-limit and health service definitions (loads @grpc/grpc-js). */
export async function loadEnvoyProtos(): Promise<unknown> {
  return (await import('./grpc.js')).loadEnvoyProtos();
}
