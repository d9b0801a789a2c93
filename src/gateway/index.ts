export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { subjectSchema, toSubjectConfig, splitPolicyText, readPolicyWithSubject, type SubjectDocument } from './config.js';
export type { SubjectConfig } from '../http/subject.js';
