import type { AlgorithmName, Params } from '../algorithms/index.js';
import type { SubjectDocument } from './schema.js';

/** What a request is: its attributes (account, tenant, ip, api, route, contact, …). */
export type Subject = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** What happened after the work: the response status, bytes sent, success. */
export interface Outcome {
  status?: number;
  bytes?: number;
  success?: boolean;
}

export interface RuleResponse {
  status: number;
  message: string;
  code: string;
}

export type CostSpec = { kind: 'fixed'; units: number } | { kind: 'bytes' } | { kind: 'attribute'; name: string };

export interface CompiledRule {
  readonly index: number;
  readonly name: string;
  readonly description?: string;
  /** True when the rule applies to the subject (its match, and every key attribute present — except for `shared` rules). */
  readonly matches: (subject: Subject) => boolean;
  /** Its `match` alone: tells a subject that lacks a key attribute from one the rule is not about. */
  readonly matchesIgnoringKey: (subject: Subject) => boolean;
  /**
   * When a subject it matches lacks a key attribute: skip the rule (reported), reject the
   * request (400, or 401 at the HTTP front doors when auth supplies the attribute), or count
   * every such request in one shared bucket. Undefined: the front door's default.
   */
  readonly onMissingKey?: 'skip' | 'reject' | 'shared';
  /**
   * The attributes `match` requires to be one of exact values (a list, or groups), each with
   * those values: what the rule index (./rule-index.ts) files the rule under. Absent: none.
   */
  readonly exactMatch?: Readonly<Record<string, ReadonlySet<string>>>;
  readonly keyAttrs: readonly string[];
  readonly algorithm: Exclude<AlgorithmName, 'block'>;
  readonly params: Params;
  readonly cost: CostSpec;
  /**
   * 'request': counted when checked. 'outcome': counted when the outcome is recorded
   * (failures, chosen statuses, response bytes); the check only consults it.
   */
  readonly phase: 'request' | 'outcome';
  /** For outcome rules: does this outcome count? */
  readonly counts: (outcome: Outcome) => boolean;
  readonly blockMs: number;
  /** The attributes the block penalty is keyed on (the rule's key, or a subset of it). */
  readonly blockKeyAttrs: readonly string[];
  readonly action: 'reject' | 'drop';
  readonly response: RuleResponse;
  readonly shadow: boolean;
  readonly scale?: { attribute: string; of: string; default: number };
  readonly onStoreError: 'open' | 'closed';
  readonly chargeRejected: boolean;
  /** The IETF quota unit when it is not requests. */
  readonly quotaUnit?: 'content-bytes' | 'concurrent-requests';
  /** The rule's RateLimit-Policy item, precomputed: "name";q=60;w=60 */
  readonly policyItem: string;
}

export interface OverrideSpec {
  rule: string;
  key: Record<string, string>;
  limit: number;
  windowMs: number;
  expiresAt?: number;
  reason?: string;
}

export interface CompiledCap {
  readonly name: string;
  readonly matches: (subject: Subject) => boolean;
  /**
   * The attributes `match` requires to be one of exact values (a list, or groups), each with
   * those values: what the rule index (./rule-index.ts) files the rule under. Absent: none.
   */
  readonly exactMatch?: Readonly<Record<string, ReadonlySet<string>>>;
  readonly maxBodyBytes?: number;
  readonly maxItems?: readonly { path: string; segments: readonly string[]; max: number }[];
  readonly maxRows?: number;
  readonly maxFileBytes?: number;
  readonly response?: Partial<RuleResponse>;
}

export interface CompiledRoute {
  readonly methods?: ReadonlySet<string>;
  readonly path: string;
  readonly api: string;
  readonly set?: Readonly<Record<string, string | number | boolean>>;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  readonly ruleByName: ReadonlyMap<string, CompiledRule>;
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
  readonly overrides: readonly OverrideSpec[];
  /** entity ("tenant:acme") → attributes ({ licensed_agents: 12 }) */
  readonly attributes: ReadonlyMap<string, Readonly<Record<string, number>>>;
  readonly caps: readonly CompiledCap[];
  readonly routes: readonly CompiledRoute[];
  readonly legacyHeaders: boolean;
  /** How HTTP front doors derive the subject (the file's `subject:` section), if given. */
  readonly subject?: SubjectDocument;
  /** Where the policy came from, for logs. */
  readonly source: string;
}
