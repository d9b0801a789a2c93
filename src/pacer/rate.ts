import { parseLimit, UnitError } from '../policy/units.js';

/**
 * A sending speed: "80/s", "3/1m", "1 per 3s"; a number (units per second); or the
 * parts. `burst` is how many may leave back to back before even spacing applies; the
 * pacer's default is 1, i.e. strictly evenly spaced, which is what "the sending speed
 * each channel has" means.
 */
export type RateSpec = string | number | { limit: number; windowMs: number; burst?: number };

export interface Rate {
  limit: number;
  windowMs: number;
  burst: number;
}

/** Parses a RateSpec; throws a RangeError that quotes the bad input. */
export function parseRate(spec: RateSpec, defaultBurst = 1): Rate {
  if (typeof spec === 'number') {
    if (!(spec > 0) || !Number.isFinite(spec)) throw new RangeError(`rate ${spec} must be a positive number of jobs per second`);
    return { limit: spec, windowMs: 1000, burst: defaultBurst };
  }
  if (typeof spec === 'string') {
    let parsed;
    try {
      parsed = parseLimit(spec);
    } catch (e) {
      throw new RangeError(e instanceof UnitError ? `rate: ${e.message}` : `rate "${spec}" is not a rate (write it like 80/s, 3/1m or 1/3s)`, { cause: e });
    }
    if (parsed.bytes || !(parsed.limit > 0)) throw new RangeError(`rate "${spec}" must be a positive count per time (like 80/s)`);
    return { limit: parsed.limit, windowMs: parsed.windowMs, burst: defaultBurst };
  }
  if (spec && typeof spec === 'object') {
    const { limit, windowMs } = spec;
    if (!(limit > 0) || !Number.isFinite(limit)) throw new RangeError(`rate limit ${limit} must be a positive number`);
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`rate windowMs ${windowMs} must be a positive number`);
    const burst = spec.burst ?? defaultBurst;
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`rate burst ${burst} must be at least 1`);
    return { limit, windowMs, burst };
  }
  throw new RangeError(`rate ${String(spec)} is not a rate (write it like 80/s, 3/1m or { limit, windowMs })`);
}

/** Units per second. */
export function perSecond(r: Pick<Rate, 'limit' | 'windowMs'>): number {
  return (r.limit * 1000) / r.windowMs;
}

/** "80/s", "0.05/s" (3/1m): for progress lines and messages. */
export function formatRate(perSec: number): string {
  if (perSec >= 100) return `${Math.round(perSec)}/s`;
  if (perSec >= 1) return `${perSec.toFixed(1)}/s`;
  if (perSec * 60 >= 1) return `${(perSec * 60).toFixed(1)}/min`;
  return `${(perSec * 3600).toFixed(2)}/h`;
}
