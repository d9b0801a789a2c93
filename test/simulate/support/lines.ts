import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { clfTime } from '../../../src/simulate/generate.js';

/** One request of a generated log, the same in every format. */
export interface Req {
  atMs: number;
  method?: string;
  path: string;
  status?: number;
  bytes?: number;
  ip?: string;
  headers?: Record<string, string>;
}

export const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

export const ROUTES = new URL('../../../examples/simulate/routes.yaml', import.meta.url).pathname;
export const example = (name: string) => new URL(`../../../examples/${name}`, import.meta.url).pathname;

export function clf(r: Req): string {
  return `${r.ip ?? '203.0.113.9'} - - [${clfTime(r.atMs)}] "${r.method ?? 'GET'} ${r.path} HTTP/1.1" ${r.status ?? 200} ${r.bytes ?? 512}`;
}

export function combined(r: Req): string {
  return `${clf(r)} "-" "test-agent/1.0"`;
}

export function jsonLine(r: Req): string {
  return JSON.stringify({ time: new Date(r.atMs).toISOString(), method: r.method ?? 'GET', uri: r.path, status: r.status ?? 200, body_bytes_sent: r.bytes ?? 512, remote_addr: r.ip ?? '203.0.113.9', ...(r.headers ? { headers: r.headers } : {}) });
}

export function envoyLine(r: Req): string {
  return JSON.stringify({
    start_time: new Date(r.atMs).toISOString(),
    method: r.method ?? 'GET',
    path: r.path,
    protocol: 'HTTP/1.1',
    response_code: r.status ?? 200,
    response_flags: '-',
    bytes_received: 0,
    bytes_sent: r.bytes ?? 512,
    duration: 3,
    downstream_remote_address: `${r.ip ?? '203.0.113.9'}:51234`,
    upstream_host: '10.0.0.5:8080',
    ...Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.replaceAll('-', '_'), v])),
  });
}

/** `n` calls by one account, `gapMs` apart, starting at T0. */
export function calls(n: number, account: string, gapMs: number, from = T0): Req[] {
  return Array.from({ length: n }, (_, i) => ({ atMs: from + i * gapMs, path: `/v1/accounts/${account}/conversations` }));
}

let dir: string | undefined;
export function tmpFile(name: string, content: string | Buffer): string {
  dir ??= mkdtempSync(join(tmpdir(), 'sluice-simulate-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

export function logFile(name: string, reqs: readonly Req[], format: (r: Req) => string = combined, gzip = false): string {
  const text = reqs.map(format).join('\n') + '\n';
  return tmpFile(name, gzip ? gzipSync(text) : text);
}
