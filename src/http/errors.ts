import type { Decision } from '../engine/decision.js';

/** Every error Sluice answers has this JSON body: { error: { code, message, ... } }. */
export interface ErrorBody {
  error: { code: string; message: string; [extra: string]: unknown };
}

export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, ...extra } };
}

/** The body for a refused decision: the binding rule's code and exact message. */
export function denialBody(d: Decision): ErrorBody {
  return errorBody(d.code ?? 'rate_limited', d.message ?? 'Rate limit exceeded.', { rule: d.rule, retryAfterMs: d.retryAfterMs });
}

/** The note sent instead of processing a dropped request. */
export function dropBody(d: Decision): { dropped: true; rule?: string; message?: string } {
  return { dropped: true, rule: d.rule, message: d.message };
}
