import type { LineParser, LogEntry } from '../log-entry.js';
import { parseClfTime } from './clf-time.js';

/**
 * JSON lines: one object per line, its fields found by name. Each logical field has a
 * list of candidate names (dotted paths reach into objects), tried in order, so the
 * common shapes (nginx `escape=json` formats, Caddy, Traefik, ELB-style exports) read
 * without configuration; `--field name=path` puts a path first.
 *
 * Headers: an object under `headers` / `request_headers` (or a mapped path), nginx's
 * flat `http_<name>` variables ($http_x_tenant_id → x-tenant-id), and keys that are
 * header names already (`x_tenant_id`, `x-tenant-id`, `user_agent`, `x_forwarded_for`).
 */
export interface FieldMap {
  time: string[];
  method: string[];
  url: string[];
  /** A whole request line, "GET /path HTTP/1.1", when method and url are not separate. */
  request: string[];
  status: string[];
  bytes: string[];
  ip: string[];
  headers: string[];
}

export const JSON_FIELDS: FieldMap = {
  time: ['time', 'timestamp', '@timestamp', 'ts', 'time_iso8601', 'time_local', 'start_time', 'date', 'datetime'],
  method: ['method', 'request_method', 'http_method', 'verb', 'http.method', 'request.method', 'req.method'],
  url: ['path', 'uri', 'request_uri', 'url', 'http.path', 'http.url', 'request.path', 'request.uri', 'request.url', 'req.url'],
  request: ['request'],
  status: ['status', 'status_code', 'response_code', 'http.status_code', 'response.status', 'res.statusCode'],
  bytes: ['bytes_sent', 'body_bytes_sent', 'bytes', 'size', 'response_size', 'bytes_out', 'response.bytes', 'http.response_bytes'],
  ip: ['remote_addr', 'client_ip', 'clientip', 'ip', 'remote_ip', 'downstream_remote_address', 'http.client_ip', 'request.remote_ip', 'req.remoteAddress'],
  headers: ['headers', 'request_headers', 'req_headers', 'request.headers', 'req.headers'],
};

export const FIELD_NAMES = Object.keys(JSON_FIELDS) as (keyof FieldMap)[];

/** Candidates with the user's mapping (`--field time=ts` or `--field header.x-tenant-id=tenant`) first. */
export interface FieldOverrides {
  fields: Partial<Record<keyof FieldMap, string>>;
  /** header name → path of the field holding it. */
  headers: Record<string, string>;
}

export function jsonLinesParser(defaults: FieldMap, overrides: FieldOverrides = { fields: {}, headers: {} }): LineParser {
  const map = {} as Record<keyof FieldMap, string[][]>;
  for (const name of FIELD_NAMES) {
    const first = overrides.fields[name];
    map[name] = (first ? [first, ...defaults[name]] : defaults[name]).map((p) => p.split('.'));
  }
  const mappedHeaders = Object.entries(overrides.headers).map(([h, p]) => [h.toLowerCase(), p.split('.')] as const);
  return (text, line) => {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return `not JSON: ${(e as Error).message.slice(0, 80)}`;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'not a JSON object';
    const o = doc as Record<string, unknown>;
    const rawTime = first(o, map.time);
    if (rawTime === undefined) return `no time field (looked for ${defaults.time.slice(0, 4).join(', ')}…; map one with --field time=<name>)`;
    const timeMs = readTime(rawTime);
    if (Number.isNaN(timeMs)) return `bad time ${JSON.stringify(rawTime).slice(0, 40)}`;
    let method = str(first(o, map.method));
    let url = str(first(o, map.url));
    if (method === undefined || url === undefined) {
      const request = str(first(o, map.request));
      if (request !== undefined) {
        const parts = request.split(' ');
        method ??= parts[0];
        url ??= parts[1];
      }
    }
    if (!method) return 'no method field (map one with --field method=<name>)';
    if (!url) return 'no path field (map one with --field url=<name>)';
    const status = Number(first(o, map.status));
    if (!Number.isInteger(status) || status < 100 || status > 599) return 'no status field, or not an HTTP status';
    const rawBytes = first(o, map.bytes);
    const bytes = rawBytes === undefined || rawBytes === '-' || rawBytes === null ? 0 : Number(rawBytes);
    if (!Number.isFinite(bytes) || bytes < 0) return `bad byte count ${JSON.stringify(rawBytes).slice(0, 40)}`;
    const ip = str(first(o, map.ip));
    const entry: LogEntry = { line, timeMs, method: method.toUpperCase(), url, status, bytes, remoteAddress: ip || undefined, headers: {} };
    collectHeaders(o, map.headers, entry.headers);
    for (const [h, path] of mappedHeaders) {
      const v = str(at(o, path));
      if (v !== undefined) entry.headers[h] = v;
    }
    return entry;
  };
}

function first(o: Record<string, unknown>, paths: string[][]): unknown {
  for (let i = 0; i < paths.length; i++) {
    const v = at(o, paths[i]);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

function at(o: unknown, path: string[]): unknown {
  // A key with a dot in it ("http.method") is tried whole before being walked into.
  if (path.length > 1) {
    const whole = (o as Record<string, unknown>)[path.join('.')];
    if (whole !== undefined) return whole;
  }
  let cur = o;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[path[i]];
  }
  return cur;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** ISO 8601 text, CLF text, or a number of seconds (or milliseconds, when it is that large) since the epoch. */
export function readTime(v: unknown): number {
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (typeof v !== 'string') return NaN;
  if (/^\d+(\.\d+)?$/.test(v)) return readTime(Number(v));
  const clf = parseClfTime(v.startsWith('[') ? v.slice(1, -1) : v);
  return Number.isNaN(clf) ? Date.parse(v) : clf;
}

const KNOWN_HEADER_KEYS: Record<string, string> = { user_agent: 'user-agent', referer: 'referer', referrer: 'referer', authority: 'host', host: 'host', authorization: 'authorization' };

function collectHeaders(o: Record<string, unknown>, objectPaths: string[][], into: Record<string, string>): void {
  for (const key in o) {
    const v = o[key];
    if (typeof v !== 'string' || v === '' || v === '-') continue;
    const lower = key.toLowerCase();
    if (lower.startsWith('http_')) into[lower.slice(5).replaceAll('_', '-')] = v;
    else if (lower.startsWith('x-') || lower.startsWith('x_')) into[lower.replaceAll('_', '-')] = v;
    else if (KNOWN_HEADER_KEYS[lower]) into[KNOWN_HEADER_KEYS[lower]] = v;
  }
  for (const path of objectPaths) {
    const h = at(o, path);
    if (h === null || typeof h !== 'object' || Array.isArray(h)) continue;
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
      const s = Array.isArray(v) ? v.map(String).join(', ') : str(v);
      if (s !== undefined) into[k.toLowerCase()] = s;
    }
  }
}
