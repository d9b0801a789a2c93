export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export type { AdminHandler, GatewayAdminOptions } from './admin.js';
export { checkGatewayPolicy } from './policy-check.js';
export { toSubjectConfig } from '../http/subject-config.js';
export { subjectSchema, type SubjectDocument } from '../policy/schema.js';
export type { SubjectConfig } from '../http/subject.js';
