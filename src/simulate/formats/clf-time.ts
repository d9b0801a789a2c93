/**
 * The Common Log Format timestamp, "10/Oct/2000:13:55:36 -0700" (Apache %t, nginx
 * $time_local), read by hand: Date.parse does not accept it, and a regex per line
 * costs more than the rest of the line's parsing.
 */

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** Milliseconds since the epoch, or NaN when the text is not a CLF timestamp. */
export function parseClfTime(s: string): number {
  // dd/Mon/yyyy:hh:mm:ss ±hhmm — 26 characters; the zone may be missing in hand-made logs.
  if (s.length < 20 || s.charCodeAt(2) !== 47 || s.charCodeAt(6) !== 47 || s.charCodeAt(11) !== 58) return NaN;
  const day = two(s, 0);
  const month = MONTHS[s.slice(3, 6)];
  const year = two(s, 7) * 100 + two(s, 9);
  const hour = two(s, 12);
  const minute = two(s, 15);
  const second = two(s, 18);
  if (month === undefined || !(day >= 1 && day <= 31) || !(hour <= 23) || !(minute <= 59) || !(second <= 60)) return NaN;
  let offsetMin = 0;
  if (s.length >= 26) {
    const sign = s.charCodeAt(21) === 45 ? -1 : s.charCodeAt(21) === 43 ? 1 : 0;
    if (sign === 0) return NaN;
    const oh = two(s, 22);
    const om = two(s, 24);
    if (!(oh <= 23) || !(om <= 59)) return NaN;
    offsetMin = sign * (oh * 60 + om);
  } else if (s.length !== 20) return NaN;
  return Date.UTC(year, month, day, hour, minute, second) - offsetMin * 60_000;
}

/** Two ASCII digits at i as a number; NaN when either is not a digit. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}
