/**
 * Reference models written from each algorithm's definition, not from its code: they keep
 * every admitted unit and answer by brute force. The step functions, the memory store's
 * in-place takes, the SQLite store and the Lua twins are all held to these, so a bug that
 * the code and its own saved vectors share is still caught.
 */

export interface Answer {
  allowed: boolean;
  /** Milliseconds until the same cost would fit (0 when allowed). */
  retryAfterMs: number;
}

export interface Reference {
  take(now: number, cost: number): Answer;
}

/**
 * Exact rolling window: a unit admitted at t counts during [t, t + window). A cost fits at
 * `now` when the units admitted in (now − window, now] plus the cost stay within the limit.
 */
export function slidingLogReference(limit: number, windowMs: number): Reference {
  const admitted: { t: number; cost: number }[] = [];
  const usedAt = (now: number) => admitted.filter((a) => a.t > now - windowMs && a.t <= now).reduce((s, a) => s + a.cost, 0);
  return {
    take(now, cost) {
      if (usedAt(now) + cost <= limit) {
        admitted.push({ t: now, cost });
        return { allowed: true, retryAfterMs: 0 };
      }
      // The earliest moment the cost fits: when enough of the oldest units have left.
      const when = admitted
        .map((a) => a.t + windowMs)
        .filter((m) => m > now)
        .sort((a, b) => a - b)
        .find((m) => usedAt(m) + cost <= limit);
      return { allowed: false, retryAfterMs: when === undefined ? windowMs : when - now };
    },
  };
}

/** Fixed window: a count per window aligned to multiples of its length; it fits while count + cost ≤ limit. */
export function fixedWindowReference(limit: number, windowMs: number): Reference {
  const counts = new Map<number, number>();
  return {
    take(now, cost) {
      const w = Math.floor(now / windowMs);
      const used = counts.get(w) ?? 0;
      if (used + cost <= limit) {
        counts.set(w, used + cost);
        return { allowed: true, retryAfterMs: 0 };
      }
      return { allowed: false, retryAfterMs: (w + 1) * windowMs - now };
    },
  };
}

/**
 * GCRA as its definition's other face, a leaky bucket: the level drains at limit/window
 * per ms and holds at most `burst`; a cost fits when level + cost ≤ burst. Admitted units
 * in any interval d are then at most burst + d·limit/window.
 */
export function gcraReference(limit: number, windowMs: number, burst = limit): Reference {
  const rate = limit / windowMs;
  let level = 0;
  let at = -Infinity;
  return {
    take(now, cost) {
      const drained = Math.max(0, level - (now - at) * rate);
      if (drained + cost <= burst + 1e-9) {
        level = drained + cost;
        at = now;
        return { allowed: true, retryAfterMs: 0 };
      }
      return { allowed: false, retryAfterMs: Math.ceil((drained + cost - burst) / rate - 1e-9) };
    },
  };
}
