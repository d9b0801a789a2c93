/** Envoy's rate-limit protocol: envoy ratelimit YAML configs, gRPC ShouldRateLimit, POST /json. */
export {
  loadEnvoyConfig,
  unitOfWindow,
  UNIT_MS,
  ENVOY_ALGORITHMS,
  type EnvoyConfig,
  type EnvoyConfigSource,
  type EnvoyDomain,
  type EnvoyLimit,
  type EnvoyNode,
  type EnvoyUnit,
  type EnvoyAlgorithm,
  type LoadEnvoyConfigOptions,
} from './config.js';
export { findLimit } from './match.js';
export { EnvoyRateLimiter, normalizeRequest, type EnvoyClock, type EnvoyRateLimiterOptions } from './limiter.js';
export { envoyStateKey, type EnvoyStoreErrorMode } from './compile.js';
export { registerEnvoyJson, decideJson, decideJsonText, decideJsonTextSync, parseJsonRequest, responseJson, responseToJson } from './json.js';
export { startEnvoyGrpc, loadEnvoyProtos } from './grpc-lazy.js';
export type { EnvoyGrpcOptions, EnvoyGrpcServer } from './grpc.js';
export {
  EnvoyRequestError,
  EnvoyStoreError,
  type RateLimitRequest,
  type RateLimitResponse,
  type RateLimitDescriptor,
  type RateLimitEntry,
  type DescriptorStatus,
  type CurrentLimit,
  type HeaderValue,
  type Duration,
} from './types.js';
