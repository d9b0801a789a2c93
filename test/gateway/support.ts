import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Sluice } from '../../src/engine/sluice.js';
import type { SubjectConfig } from '../../src/http/subject.js';

/**
 * The seed examples, merged into one policy, with a route table that names the APIs the
 * scenarios call. The rules, groups, caps, overrides and attributes are the examples'
 * own; only `routes` and one test tenant (tiny, scaled to a 100 KB egress cap) are added.
 */
export function seedPolicy(): Record<string, unknown> {
  const files = ['contact-center-ai', 'picky-assist', 'ccaas-recordings'].map((f) => parse(readFileSync(new URL(`../../examples/${f}.yaml`, import.meta.url), 'utf8')));
  const merged: Record<string, any> = { version: 1, groups: {}, rules: [], caps: [], overrides: [], attributes: { tenant: {} } };
  for (const f of files) {
    Object.assign(merged.groups, f.groups ?? {});
    merged.rules.push(...(f.rules ?? []));
    merged.caps.push(...(f.caps ?? []));
    merged.overrides.push(...(f.overrides ?? []));
    Object.assign(merged.attributes.tenant, f.attributes?.tenant ?? {});
  }
  // 2.5 GB per licensed agent × 0.00004 = 100 KB: small enough to reach with real downloads.
  merged.attributes.tenant.tiny = { licensed_agents: 0.00004 };
  merged.routes = [
    { method: 'GET', path: '/v1/agents', api: 'List All Agents' },
    { method: 'POST', path: '/v1/skills', api: 'Create a Skill' },
    { method: 'GET', path: '/v1/recordings/:id/audio', api: 'Get Recording Audio' },
    { method: 'POST', path: '/login', api: 'Login' },
    { method: 'POST', path: '/signup', api: 'Signup' },
    { method: 'POST', path: '/v1/messages', api: 'Send Message' },
    { method: 'POST', path: '/v1/contacts/mass-update', api: 'Mass Update Contacts' },
    { method: 'POST', path: '/v1/contacts/sheet', api: 'Upload Contacts Sheet' },
    { method: 'POST', path: '/v1/broadcasts/contacts', api: 'Upload Broadcast Contacts' },
    { method: 'POST', path: '/v1/attributes/file', api: 'Upload Attribute File' },
    { method: 'POST', path: '/v1/smart-replies', api: 'Smart Reply', set: { event: 'smart-reply' } },
  ];
  return merged;
}

export const subjectConfig: SubjectConfig = {
  headers: { 'x-account-id': 'account', 'x-user': 'user', 'x-contact': 'contact', 'x-question': 'question' },
  apiKeys: { keys: { 'key-acme-000001': { tenant: 'acme' }, 'key-small-00001': { tenant: 'smallco' }, 'key-tiny-000001': { tenant: 'tiny' } } },
};

export function fakeClock(start = Date.UTC(2026, 0, 5, 9)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

export function openSeedSluice(clock: () => number): Sluice {
  return Sluice.openSync({ policy: seedPolicy(), clock });
}

export interface Upstream {
  url: string;
  port: number;
  /** Requests the upstream received whole (and so processed), by path. */
  hits: Map<string, number>;
  /** The last request's headers. */
  last?: IncomingMessage['headers'];
  close(): Promise<void>;
}

/** What the upstream API (or an app) answers for a request whose body has been read whole. */
export function apiAnswer(method: string, path: string, headers: Record<string, string | string[] | undefined>, body: Buffer): { status: number; type: string; body: Buffer | string } {
  if (path === '/login') {
    let password: unknown;
    try {
      password = JSON.parse(body.toString('utf8')).password;
    } catch {
      /* bad body: a failed login */
    }
    return password === 'right' ? { status: 200, type: 'application/json', body: '{"token":"t"}' } : { status: 401, type: 'application/json', body: '{"error":{"code":"bad_credentials","message":"Wrong password."}}' };
  }
  const audio = /^\/v1\/recordings\/([^/]+)\/audio$/.exec(path);
  if (audio) return { status: 200, type: 'audio/wav', body: Buffer.alloc(60_000, 7) };
  return { status: 200, type: 'application/json', body: JSON.stringify({ ok: true, method, path, received: body.length, xff: headers['x-forwarded-for'] ?? null }) };
}

/** A plain node:http upstream API on 127.0.0.1:0. /slow never answers; audio is streamed in chunks. */
export async function startUpstream(): Promise<Upstream> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const state: Upstream = { url: '', port: 0, hits, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    state.last = req.headers;
    if (path === '/slow') return; // never answers
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      // counted once the whole body arrived: a request cut off by a cap is never processed
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const a = apiAnswer(req.method ?? 'GET', path, req.headers, Buffer.concat(chunks));
      res.writeHead(a.status, { 'content-type': a.type });
      const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
      // stream in 16 KB chunks, as a download would arrive
      for (let i = 0; i < body.length; i += 16_384) res.write(body.subarray(i, i + 16_384));
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.port = port;
  state.url = `http://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return state;
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function multipart(boundary: string, parts: { name: string; filename?: string; type?: string; data: Buffer | string }[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
    out.push(typeof p.data === 'string' ? Buffer.from(p.data) : p.data);
    out.push(Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

export function csv(rows: number): string {
  let s = 'name,phone\n';
  for (let i = 0; i < rows; i++) s += `c${i},+1555${String(i).padStart(7, '0')}\n`;
  return s;
}
