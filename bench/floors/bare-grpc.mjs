// Floor for Envoy's gRPC ShouldRateLimit: grpc-js answering OK without deciding.
// /work/shared/floors/bare-grpc.mjs, verbatim but for includeDirs: rls.proto imports
// envoy/config/core/v3/base.proto by its path from the proto root, so the loader needs that root.
// Usage: node bare-grpc.mjs PORT path/to/rls.proto (run from a folder whose node_modules has @grpc/grpc-js and @grpc/proto-loader)
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
const [port = '8091', proto] = process.argv.slice(2);
const root = proto.replace(/envoy\/service\/ratelimit\/v3\/rls\.proto$/, '');
const def = protoLoader.loadSync(proto, { keepCase: false, enums: String, defaults: true, longs: Number, includeDirs: [root] });
const svc = grpc.loadPackageDefinition(def).envoy.service.ratelimit.v3.RateLimitService;
const server = new grpc.Server();
server.addService(svc.service, { shouldRateLimit: (_call, cb) => cb(null, { overallCode: 'OK', statuses: [{ code: 'OK' }] }) });
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), () => {});
