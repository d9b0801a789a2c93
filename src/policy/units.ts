/** Parsing of the policy language's human units: durations, sizes and limits. */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

// Decimal units as storage vendors write them; binary ones when spelled KiB, MiB, ...
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

export class UnitError extends Error {}

/** "3s", "1m", "1h30m", "5d", "250ms", "minute" → milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  if (s === '') throw new UnitError('empty duration');
  // A bare unit ("minute", "hour") means one of it.
  if (DURATION_UNITS[s] !== undefined) return DURATION_UNITS[s];
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;
  // Stryker disable next-line Regex: removing whitespace a character (\s) or a run (\s+) at a time leaves the same text
  const compact = s.replace(/\s+/g, '');
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(compact)) !== null) {
    const unit = DURATION_UNITS[m[2]];
    if (unit === undefined) throw new UnitError(`unknown time unit "${m[2]}" in "${text}" (use ms, s, m, h, d or w)`);
    total += Number(m[1]) * unit;
    matched += m[0].length;
  }
  // compact is not empty, so a text nothing matched is refused here too.
  if (matched !== compact.length) {
    throw new UnitError(`"${text}" is not a duration (write it like 3s, 1m, 8h, 5d or 1h30m)`);
  }
  return Math.round(total);
}

/** "10MB", "25 MiB", "5GB", "1200" → bytes (or plain units when no suffix). */
export function parseSize(text: string | number): number {
  // A number is read as its text, so max_body: -5 is refused as "-5" is (it was taken as is: a cap no body could pass).
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  if (!m) throw new UnitError(`"${text}" is not a size (write it like 10MB, 25MiB or 5000)`);
  if (Number(m[1]) < 0) throw new UnitError(`"${text}" is negative: an amount must be 0 or more`);
  const unit = m[2].toLowerCase();
  if (unit === '') return Number(m[1]);
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) throw new UnitError(`unknown size unit "${m[2]}" in "${text}" (use B, KB, MB, GB, TB, KiB, MiB, GiB)`);
  return Math.round(Number(m[1]) * mult);
}

export interface ParsedLimit {
  limit: number;
  windowMs: number;
  /** True when the amount was written with a byte unit (5GB/5d). */
  bytes: boolean;
}

/** What vendors' pages count in ("90 requests per minute", "3 request per minute", "5 replies"): words, not units. */
const COUNT_NOUN = /\s+(?:requests?|reqs?|calls?|hits?|events?|messages?|replies|reply|logins?|signups?|attempts?)$/i;
/** "10,000" as pages write it. */
const THOUSANDS = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

/** "60/1m", "1/3s", "3 per 3m", "5GB/5d", "90/minute", "90 requests per minute", "1 reply in 1 hour" → { limit, windowMs }. */
export function parseLimit(text: string): ParsedLimit {
  const m = /^\s*([^/]+?)\s*(?:\/|\s+per\s+|\s+in\s+)\s*(.+?)\s*$/.exec(text);
  if (!m) throw new UnitError(`"${text}" is not a limit (write it like 60/1m, 1/3s or 5GB/5d)`);
  let amount = m[1].replace(COUNT_NOUN, '');
  if (THOUSANDS.test(amount)) amount = amount.replace(/,/g, '');
  const bytes = /[a-z]/i.test(amount);
  const limit = parseSize(amount);
  const windowMs = parseDuration(m[2]);
  if (!(limit >= 0) || !Number.isFinite(limit)) throw new UnitError(`the amount in "${text}" must be a number ≥ 0`);
  if (windowMs <= 0) throw new UnitError(`the window in "${text}" must be longer than zero`);
  return { limit, windowMs, bytes };
}

/** 60000 → "1m", 3000 → "3s", 432000000 → "5d": for messages and headers. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
