import type { EnvoyUnit } from './config.js';

/**
 * envoy.service.ratelimit.v3 messages as plain objects, with the proto field names
 * (snake_case): what @grpc/proto-loader hands over with keepCase, and what the JSON
 * mapping of POST /json is converted to and from.
 */

export interface RateLimitEntry {
  key: string;
  value: string;
}

export interface RateLimitDescriptor {
  entries: RateLimitEntry[];
  /** A caller-chosen limit that replaces the configured one for this descriptor. */
  limit?: { requests_per_unit: number; unit: EnvoyUnit | number } | null;
  /** google.protobuf.UInt64Value: overrides the request's hits_addend; 0 checks without charging. */
  hits_addend?: number | { value: number | string } | null;
}

export interface RateLimitRequest {
  domain: string;
  descriptors: RateLimitDescriptor[];
  /** Hits added to every matched limit; 0 or absent means 1 (proto3 cannot tell them apart). */
  hits_addend?: number;
}

export type RateLimitCode = 'OK' | 'OVER_LIMIT';

export interface CurrentLimit {
  requests_per_unit: number;
  unit: EnvoyUnit;
  name?: string;
}

export interface Duration {
  seconds: number;
  nanos: number;
}

export interface DescriptorStatus {
  code: RateLimitCode;
  current_limit?: CurrentLimit;
  limit_remaining: number;
  duration_until_reset?: Duration;
}

export interface HeaderValue {
  key: string;
  value: string;
}

export interface RateLimitResponse {
  overall_code: RateLimitCode;
  statuses: DescriptorStatus[];
  response_headers_to_add: HeaderValue[];
  request_headers_to_add: HeaderValue[];
}

/** A request that cannot be decided as sent (gRPC INVALID_ARGUMENT, HTTP 400). */
/**
 * A call that ended before it was decided: its deadline passed or the client cancelled it
 * (gRPC DEADLINE_EXCEEDED / CANCELLED). Nothing was charged.
 */
export class EnvoyCallEndedError extends Error {
  constructor(readonly reason: 'deadline' | 'cancelled') {
    super(reason === 'deadline' ? 'the call’s deadline passed before it was decided; nothing was charged' : 'the call was cancelled before it was decided; nothing was charged');
    this.name = 'EnvoyCallEndedError';
  }
}

export class EnvoyRequestError extends Error {
  readonly code = 'invalid_request';
  constructor(message: string) {
    super(message);
    this.name = 'EnvoyRequestError';
  }
}

/** The store could not decide (gRPC UNAVAILABLE, HTTP 503); envoy then applies its failure_mode_deny. */
export class EnvoyStoreError extends Error {
  readonly code = 'store_unavailable';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'EnvoyStoreError';
  }
}
