/**
 * The gRPC service at the HTTP/2 level, driven by a raw node:http2 client (to send what a
 * well-behaved client never would: split frames, two messages, oversized prefixes, wrong
 * content types, compressed flags, bad timeouts) and by the real @grpc/grpc-js client
 * (deadlines, cancellation, health Watch, percent-encoded messages, TLS, graceful close).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig, loadEnvoyProtos, startEnvoyGrpc, type EnvoyGrpcServer } from '../../src/envoy/index.js';
import { frameMessage } from '../../src/envoy/grpc-frame.js';
import { PROTO_DIR } from '../../src/envoy/grpc-protos.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeClock, req } from './support.js';

const CONFIG = `domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 100
`;
const RLS = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

const root = new protobuf.Root();
root.resolvePath = (origin, target) => (target.startsWith('google/') ? protobuf.util.path.resolve(origin, target) : PROTO_DIR + target);
root.loadSync('envoy/service/ratelimit/v3/rls.proto', { keepCase: true });
const Request = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const Response = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');
const encodeRequest = (r: object): Buffer => frameMessage(Request.encode(Request.fromObject(r)).finish());

interface RawAnswer {
  status: number;
  grpcStatus: number;
  grpcMessage: string;
  messages: Record<string, any>[];
  headers: http2.IncomingHttpHeaders;
}

/** One call over a raw HTTP/2 stream: each chunk written in its own DATA frame (a pause between them). */
async function raw(port: number, chunks: Buffer[], headers: http2.OutgoingHttpHeaders = {}, { end = true } = {}): Promise<RawAnswer> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const stream = client.request({ ':method': 'POST', ':path': RLS, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (d: Buffer) => data.push(d));
    const closed = new Promise<void>((resolve) => stream.on('close', resolve));
    stream.on('error', () => {});
    for (const [i, c] of chunks.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 5));
      stream.write(c);
    }
    if (end) stream.end();
    await closed;
    const body = Buffer.concat(data);
    const messages: Record<string, any>[] = [];
    for (let at = 0; at + 5 <= body.length; ) {
      const len = body.readUInt32BE(at + 1);
      messages.push(Response.toObject(Response.decode(body.subarray(at + 5, at + 5 + len)), { enums: String, longs: Number }));
      at += 5 + len;
    }
    const st = trailers['grpc-status'] ?? head['grpc-status'];
    return { status: Number(head[':status']), grpcStatus: Number(st), grpcMessage: decodeURIComponent(String(trailers['grpc-message'] ?? head['grpc-message'] ?? '')), messages, headers: head };
  } finally {
    client.close();
  }
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => grpc.ClientUnaryCall;

function unary(client: grpc.Client, method: string, request: unknown, opts: grpc.CallOptions = {}): { call: grpc.ClientUnaryCall; result: Promise<any> } {
  let call!: grpc.ClientUnaryCall;
  const result = new Promise((resolve, reject) => {
    call = ((client as any)[method] as Unary).call(client, request, new grpc.Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
  return { call, result };
}

/** A memory store whose decisions wait for the test to let them go, and whose ping can be made to fail. */
function heldStore() {
  const memory = new MemoryStore();
  const gates: (() => void)[] = [];
  let entered: () => void = () => {};
  const state = { hold: false, down: false, fail: false, applies: 0 };
  const store = Object.assign(Object.create(memory) as MemoryStore, {
    apply: async (ops: Parameters<MemoryStore['apply']>[0], now: number) => {
      state.applies++;
      if (state.fail) throw new Error('connection refused (a test store)');
      if (state.hold) {
        entered();
        await new Promise<void>((r) => gates.push(r));
      }
      return memory.apply(ops, now);
    },
    ping: async () => {
      if (state.down) throw new Error('store down');
    },
  });
  return {
    store,
    memory,
    state,
    /** Resolves once a decision is waiting in the store. */
    nextEntered: () => new Promise<void>((r) => (entered = r)),
    release: () => gates.splice(0).forEach((g) => g()),
  };
}

describe('envoy gRPC at the HTTP/2 level', () => {
  let server: EnvoyGrpcServer;
  const held = heldStore();
  let rls: grpc.Client;
  let health: grpc.Client;
  let errors: unknown[];

  beforeAll(async () => {
    errors = [];
    server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), held.store, new FakeClock()), maxMessageBytes: 64 * 1024, healthPollMs: 20, onError: (e) => errors.push(e) });
    const pkg = (await loadEnvoyProtos()) as any;
    rls = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    health = new pkg.grpc.health.v1.Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    held.release();
    rls?.close();
    health?.close();
    await server?.close();
  });

  it('answers a request split across DATA frames, byte by byte, with the message and grpc-status 0', async () => {
    const bytes = encodeRequest(req('edge', [['remote_address', '10.0.0.1']]));
    const answer = await raw(server.port, [...bytes].map((b) => Buffer.from([b])));
    expect(answer).toMatchObject({ status: 200, grpcStatus: 0, headers: { 'content-type': 'application/grpc' } });
    expect(answer.messages).toHaveLength(1);
    expect(answer.messages[0]).toMatchObject({ overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: 99 }] });
  });

  it('refuses two request messages on a unary call, and a message cut short', async () => {
    const one = encodeRequest(req('edge', [['remote_address', '10.0.0.2']]));
    expect(await raw(server.port, [Buffer.concat([one, one])])).toMatchObject({ grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/2 request messages; this method takes one/), messages: [] });
    expect(await raw(server.port, [one.subarray(0, one.length - 1)])).toMatchObject({ grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/ended inside a message/) });
    expect(await raw(server.port, [])).toMatchObject({ grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/without a request message/) });
  });

  it('refuses a message past maxMessageBytes with RESOURCE_EXHAUSTED from its prefix, before its body is sent', async () => {
    const prefix = Buffer.from([0, 0, 0, 0, 0]);
    prefix.writeUInt32BE(64 * 1024 + 1, 1);
    // The client never ends the stream: the server answers and resets it (NO_ERROR) on its own.
    const answer = await raw(server.port, [prefix], {}, { end: false });
    expect(answer).toMatchObject({ status: 200, grpcStatus: grpc.status.RESOURCE_EXHAUSTED, grpcMessage: 'the message is 65537 bytes; at most 65536' });
    // The real client sees the same status for a request that large.
    const big = req('edge', [['remote_address', 'x'.repeat(70 * 1024)]]);
    await expect(unary(rls, 'ShouldRateLimit', big).result).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
  });

  it('answers malformed protobuf with INVALID_ARGUMENT and goes on serving', async () => {
    const answer = await raw(server.port, [frameMessage(Buffer.from([0x0a, 0x09, 0x61, 0x62]))]);
    expect(answer).toMatchObject({ grpcStatus: grpc.status.INVALID_ARGUMENT, grpcMessage: expect.stringMatching(/RateLimitRequest is not valid protobuf: a field of 9 bytes runs past the end at byte 2/) });
    expect(await raw(server.port, [frameMessage(Buffer.from([0xff, 0xff]))])).toMatchObject({ grpcStatus: grpc.status.INVALID_ARGUMENT });
    expect((await unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.3']])).result).overall_code).toBe('OK');
    expect(errors).toEqual([]);
  });

  it('checks the content type, the method, the path and the encoding before reading anything', async () => {
    const body = [encodeRequest(req('edge', [['remote_address', '10.0.0.4']]))];
    expect(await raw(server.port, body, { 'content-type': 'application/json' })).toMatchObject({ status: 415, grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/"application\/json" is not application\/grpc/) });
    expect(await raw(server.port, body, { 'content-type': 'application/grpc+json' })).toMatchObject({ status: 415, grpcStatus: grpc.status.UNIMPLEMENTED });
    expect(await raw(server.port, body, { 'content-type': 'application/grpc+proto' })).toMatchObject({ status: 200, grpcStatus: 0 });
    expect(await raw(server.port, body, { ':path': '/envoy.service.ratelimit.v3.RateLimitService/Nope' })).toMatchObject({ status: 200, grpcStatus: grpc.status.UNIMPLEMENTED, grpcMessage: expect.stringMatching(/unknown method/) });
    expect(await raw(server.port, [], { ':method': 'GET' })).toMatchObject({ status: 405, grpcStatus: grpc.status.UNIMPLEMENTED });
    const gzip = await raw(server.port, body, { 'grpc-encoding': 'gzip' });
    expect(gzip).toMatchObject({ grpcStatus: grpc.status.UNIMPLEMENTED, headers: { 'grpc-accept-encoding': 'identity' } });
    const flagged = Buffer.from(body[0]);
    flagged[0] = 1;
    expect(await raw(server.port, [flagged])).toMatchObject({ grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/compressed/) });
    // The real client calling a method this server does not have.
    const missing = new Promise((resolve, reject) => rls.makeUnaryRequest('/envoy.service.ratelimit.v3.RateLimitService/Nope', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (err, res) => (err ? reject(err) : resolve(res))));
    await expect(missing).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('answers UNAVAILABLE when the store fails, reports it once, and sends no stack', async () => {
    held.state.fail = true;
    try {
      const err = await unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.9']])).result.catch((e: grpc.ServiceError) => e);
      expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(err.details).not.toMatch(/\n\s+at /);
      expect(errors).toHaveLength(1);
    } finally {
      held.state.fail = false;
      errors.length = 0;
    }
  });

  it('percent-encodes grpc-message: the client reads back the exact text', async () => {
    const service = 'sérvice 100% ✓\r\n';
    await expect(unary(health, 'Check', { service }).result).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: `unknown service "${service}"` });
  });

  it('ends a call whose grpc-timeout passes with DEADLINE_EXCEEDED from the server, and refuses a malformed timeout', async () => {
    held.state.hold = true;
    try {
      const entered = held.nextEntered();
      const pending = raw(server.port, [encodeRequest(req('edge', [['remote_address', '10.0.0.5']]))], { 'grpc-timeout': '50m' });
      await entered;
      expect(await pending).toMatchObject({ grpcStatus: grpc.status.DEADLINE_EXCEEDED, grpcMessage: expect.stringMatching(/deadline passed/), messages: [] });
    } finally {
      held.state.hold = false;
      held.release();
    }
    expect(await raw(server.port, [encodeRequest(req('edge', [['remote_address', '10.0.0.5']]))], { 'grpc-timeout': '5 seconds' })).toMatchObject({ grpcStatus: grpc.status.INTERNAL, grpcMessage: expect.stringMatching(/grpc-timeout "5 seconds" is not a timeout/) });
    // A generous deadline changes nothing.
    expect((await unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.5']]), { deadline: Date.now() + 30_000 }).result).overall_code).toBe('OK');
    expect(errors).toEqual([]);
  });

  it('survives a client that cancels mid-decision or mid-message, and does not decide a call cancelled before its message ended', async () => {
    held.state.hold = true;
    try {
      const entered = held.nextEntered();
      const { call, result } = unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.6']]));
      await entered;
      call.cancel();
      await expect(result).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    } finally {
      held.state.hold = false;
      held.release();
    }
    // Half a message, then RST_STREAM(CANCEL): the limiter is never asked.
    const before = held.state.applies;
    const client = http2.connect(`http://127.0.0.1:${server.port}`);
    const stream = client.request({ ':method': 'POST', ':path': RLS, 'content-type': 'application/grpc' });
    stream.on('error', () => {});
    stream.write(encodeRequest(req('edge', [['remote_address', '10.0.0.7']])).subarray(0, 8));
    await new Promise((r) => setTimeout(r, 10));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => stream.on('close', r));
    client.close();
    expect((await unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.8']])).result).overall_code).toBe('OK');
    expect(held.state.applies).toBe(before + 1);
    expect(errors).toEqual([]);
  });

  it('survives garbage instead of HTTP/2 and a stream reset with an error code', async () => {
    const { Socket } = await import('node:net');
    const socket = new Socket();
    await new Promise<void>((r) => socket.connect(server.port, '127.0.0.1', r));
    socket.on('error', () => {});
    socket.resume(); // read what the server answers, or its FIN never surfaces
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(100));
    await new Promise((r) => socket.on('close', r));
    const client = http2.connect(`http://127.0.0.1:${server.port}`);
    client.on('error', () => {});
    const stream = client.request({ ':method': 'POST', ':path': RLS, 'content-type': 'application/grpc' });
    stream.on('error', () => {});
    stream.write(Buffer.from([0, 0, 0, 0, 9, 1]));
    await new Promise((r) => setTimeout(r, 10));
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await new Promise((r) => stream.on('close', r));
    client.close();
    expect((await unary(rls, 'ShouldRateLimit', req('edge', [['remote_address', '10.0.0.10']])).result).overall_code).toBe('OK');
    expect(errors).toEqual([]);
  });

  it('streams health Watch: the status at once, then each change, until the client leaves', async () => {
    const call = (health as any).Watch({ service: '' }) as grpc.ClientReadableStream<{ status: string }>;
    const seen: string[] = [];
    const next = (want: string) =>
      new Promise<void>((resolve) => {
        const onData = (m: { status: string }) => {
          seen.push(m.status);
          if (m.status === want) {
            call.off('data', onData);
            resolve();
          }
        };
        call.on('data', onData);
      });
    call.on('error', () => {});
    await next('SERVING');
    held.state.down = true;
    await next('NOT_SERVING');
    held.state.down = false;
    await next('SERVING');
    expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
    call.cancel();
    // An unknown service is said so on the stream (it may appear later), not as an error.
    const other = (health as any).Watch({ service: 'nope' }) as grpc.ClientReadableStream<{ status: string }>;
    other.on('error', () => {});
    expect(await new Promise((r) => other.once('data', r))).toEqual({ status: 'SERVICE_UNKNOWN' });
    other.cancel();
    await expect(unary(health, 'Check', {}).result).resolves.toEqual({ status: 'SERVING' });
  });
});

describe('envoy gRPC graceful close', () => {
  it('finishes every call in flight on every connection, ends Watch streams with NOT_SERVING, then refuses connections', async () => {
    const held = heldStore();
    const server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), held.store, new FakeClock()) });
    const pkg = (await loadEnvoyProtos()) as any;
    const clients: grpc.Client[] = [1, 2].map(() => new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const health = new pkg.grpc.health.v1.Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client;
    try {
      const watch = (health as any).Watch({}) as grpc.ClientReadableStream<{ status: string }>;
      const statuses: string[] = [];
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      const watchEnd = new Promise<grpc.StatusObject>((r) => watch.on('status', r));
      watch.on('error', () => {});
      await new Promise((r) => watch.once('data', r));
      held.state.hold = true;
      let entered = 0;
      const allEntered = new Promise<void>((resolve) => {
        const again = () => void held.nextEntered().then(() => (++entered === 4 ? resolve() : again()));
        again();
      });
      const inFlight = clients.flatMap((c, i) => [0, 1].map((j) => unary(c, 'ShouldRateLimit', req('edge', [['remote_address', `10.1.${i}.${j}`]])).result));
      await allEntered;
      const closed = server.close(10_000);
      held.release();
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.overall_code)).toEqual(['OK', 'OK', 'OK', 'OK']);
      await closed;
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
      expect((await watchEnd).code).toBe(grpc.status.OK);
      const fresh = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client;
      await expect(unary(fresh, 'ShouldRateLimit', req('edge', [['remote_address', '10.1.9.9']]), { deadline: Date.now() + 2000 }).result).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      fresh.close();
    } finally {
      held.release();
      for (const c of clients) c.close();
      health.close();
    }
  });

  it('cuts a call still in flight at the grace deadline', async () => {
    const held = heldStore();
    held.state.hold = true;
    const server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), held.store, new FakeClock()) });
    const pkg = (await loadEnvoyProtos()) as any;
    const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client;
    try {
      const entered = held.nextEntered();
      const outcome = unary(client, 'ShouldRateLimit', req('edge', [['remote_address', '10.2.0.1']])).result.then(
        () => 'answered',
        (e: grpc.ServiceError) => e.code,
      );
      await entered;
      await server.close(50); // resolves although the decision never finished
      expect(await outcome).toBe(grpc.status.UNAVAILABLE);
    } finally {
      held.release();
      client.close();
    }
  });
});

describe('envoy gRPC over TLS', () => {
  let dir: string | undefined;
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    try {
      dir = mkdtempSync(join(tmpdir(), 'sluice-grpc-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
      key = readFileSync(join(dir, 'key.pem'));
      cert = readFileSync(join(dir, 'cert.pem'));
    } catch {
      console.warn('\n!! SKIPPED: envoy gRPC over TLS — openssl could not make a test certificate\n');
      dir = undefined;
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves over TLS given plain tls options or grpc-js ServerCredentials', async (ctx) => {
    if (!dir) return ctx.skip();
    const pkg = (await loadEnvoyProtos()) as any;
    for (const opts of [{ tls: { key, cert } }, { credentials: grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]) }]) {
      const server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), new MemoryStore(), new FakeClock()), ...opts });
      const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`localhost:${server.port}`, grpc.credentials.createSsl(cert)) as grpc.Client;
      const plain = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client;
      try {
        expect((await unary(client, 'ShouldRateLimit', req('edge', [['remote_address', '10.3.0.1']])).result).overall_code).toBe('OK');
        await expect(unary(plain, 'ShouldRateLimit', req('edge', [['remote_address', '10.3.0.1']]), { deadline: Date.now() + 2000 }).result).rejects.toMatchObject({ code: expect.any(Number) });
      } finally {
        client.close();
        plain.close();
        await server.close();
      }
    }
  });
});
