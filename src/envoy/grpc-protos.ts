import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The .proto files, loaded for @grpc/grpc-js clients (tests, tools, callers that want a typed
 * client of this service); the server itself uses the static codec of ./grpc-codec.ts.
 * They ship in the package's top-level proto/ directory (tsc does not copy them): two levels up
 * from src/envoy/ when run from source, and from dist/envoy/ when built.
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
