export { serve, DEFAULT_BODY_LIMIT, type ServeOptions, type ServeHandle } from './serve.js';
export { buildServer, type BuiltServer } from './server.js';
export { openapiDocument } from './openapi.js';
export { inspect, type RuleUsage } from './inspect.js';
export type { ReloadResult, ReloadTrigger } from './reload.js';
export { createAdminApi, type AdminApi, type AdminApiOptions } from './admin-api.js';
