import type { LineParser, LogEntry } from '../log-entry.js';
import { parseClfTime } from './clf-time.js';

/**
 * Common Log Format and Combined Log Format (Apache's and nginx's defaults), one reader:
 *
 *   host ident authuser [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "referer" "user-agent" "x-forwarded-for"
 *
 * Combined adds the quoted referer and user agent to CLF; nginx's `main` format adds
 * a quoted X-Forwarded-For after them, so trusted-proxy rules see the forwarded chain.
 *
 * Written by hand with indexOf and char codes, not a regex: the one regex that takes
 * every variant (optional fields, escaped quotes) ran at about a third of the speed,
 * and this parser is most of the simulator's time per line on Combined logs.
 */
export function accessLogParser(): LineParser {
  // Lines of a busy log share their second: parse each distinct timestamp once.
  let lastStamp = '';
  let lastMs = NaN;
  return (text, line) => {
    const sp = text.indexOf(' ');
    if (sp <= 0) return 'not an access-log line (no client address)';
    const lb = text.indexOf('[', sp);
    if (lb < 0) return 'no [timestamp]';
    const rb = text.indexOf(']', lb);
    if (rb < 0) return 'the [timestamp] is not closed';
    const stamp = text.slice(lb + 1, rb);
    if (stamp !== lastStamp) {
      lastMs = parseClfTime(stamp);
      lastStamp = stamp;
    }
    if (Number.isNaN(lastMs)) return `bad timestamp [${stamp.slice(0, 40)}]`;
    if (text.charCodeAt(rb + 1) !== 32 || text.charCodeAt(rb + 2) !== 34) return 'no "request line" after the timestamp';
    const reqEnd = closingQuote(text, rb + 3);
    if (reqEnd < 0) return 'the "request line" is not closed';
    const m1 = text.indexOf(' ', rb + 3);
    if (m1 < 0 || m1 >= reqEnd) return `no method and path in the request line "${text.slice(rb + 3, Math.min(reqEnd, rb + 43))}"`;
    const method = text.slice(rb + 3, m1);
    for (let i = 0; i < method.length; i++) {
      const c = method.charCodeAt(i);
      if (c < 65 || c > 90) return `"${method.slice(0, 20)}" is not an HTTP method`;
    }
    let u2 = text.lastIndexOf(' ', reqEnd - 1);
    if (u2 <= m1) u2 = reqEnd; // HTTP/0.9 style "GET /path"
    const url = text.slice(m1 + 1, u2);
    if (url.length === 0) return 'empty path in the request line';

    // status and bytes
    let i = reqEnd + 1;
    if (text.charCodeAt(i) !== 32) return 'no status after the request line';
    i++;
    const status = (text.charCodeAt(i) - 48) * 100 + (text.charCodeAt(i + 1) - 48) * 10 + (text.charCodeAt(i + 2) - 48);
    if (!(status >= 100 && status <= 599) || !isDigit(text.charCodeAt(i)) || !isDigit(text.charCodeAt(i + 1)) || !isDigit(text.charCodeAt(i + 2))) {
      return `bad status "${text.slice(i, i + 3)}"`;
    }
    i += 3;
    if (text.charCodeAt(i) !== 32) return 'no byte count after the status';
    i++;
    let bytes = 0;
    if (text.charCodeAt(i) === 45) i++;
    else {
      const from = i;
      for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) bytes = bytes * 10 + (c - 48);
      if (i === from) return 'bad byte count';
    }
    const entry: LogEntry = { line, timeMs: lastMs, method, url, status, bytes, remoteAddress: text.slice(0, sp), headers: {} };
    // Combined: "referer" "user-agent", then nginx main's "x-forwarded-for".
    for (let f = 0; f < QUOTED.length && text.charCodeAt(i) === 32 && text.charCodeAt(i + 1) === 34; f++) {
      const end = closingQuote(text, i + 2);
      if (end < 0) return `the quoted ${QUOTED[f]} is not closed`;
      if (end > i + 2 && !(end === i + 3 && text.charCodeAt(i + 2) === 45)) entry.headers[QUOTED[f]] = text.slice(i + 2, end);
      i = end + 1;
    }
    return entry;
  };
}

const QUOTED = ['referer', 'user-agent', 'x-forwarded-for'] as const;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index of the quote closing a field that starts at `from`, skipping \" escapes (Apache writes them). */
function closingQuote(text: string, from: number): number {
  let q = text.indexOf('"', from);
  while (q > 0 && text.charCodeAt(q - 1) === 92) {
    let n = 1;
    while (q - 1 - n >= from && text.charCodeAt(q - 1 - n) === 92) n++;
    if (n % 2 === 0) break; // "\\" before the quote is an escaped backslash
    q = text.indexOf('"', q + 1);
  }
  return q;
}
