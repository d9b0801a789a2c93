/**
 * The hand-written protobuf codec of the gRPC service against protobufjs (what @grpc/grpc-js
 * and Envoy's own generated code agree with) on the real .proto files: any request protobufjs
 * writes decodes to what protobufjs reads, any response written decodes in protobufjs to what
 * was given, and arbitrary bytes either decode or are refused with an EnvoyRequestError.
 */
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeHealthCheckRequest, decodeRateLimitRequest, encodeHealthCheckResponse, encodeRateLimitResponse } from '../../src/envoy/grpc-codec.js';
import { PROTO_DIR } from '../../src/envoy/grpc-protos.js';
import { EnvoyRequestError, type RateLimitResponse } from '../../src/envoy/types.js';

const root = new protobuf.Root();
root.resolvePath = (origin, target) => (target.startsWith('google/') ? protobuf.util.path.resolve(origin, target) : PROTO_DIR + target);
root.loadSync(['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'], { keepCase: true });
const Request = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const Response = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');
const HealthResponse = root.lookupType('grpc.health.v1.HealthCheckResponse');
const HealthRequest = root.lookupType('grpc.health.v1.HealthCheckRequest');
const TO_OBJECT = { longs: Number, enums: Number, defaults: false };

const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
const u32 = fc.nat({ max: 0xffffffff });
const requestArb = fc.record(
  {
    domain: text,
    hits_addend: u32,
    descriptors: fc.array(
      fc.record(
        {
          entries: fc.array(fc.record({ key: text, value: text }), { maxLength: 4 }),
          limit: fc.record({ requests_per_unit: u32, unit: fc.integer({ min: -2, max: 9 }) }),
          hits_addend: fc.record({ value: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }),
        },
        { requiredKeys: ['entries'] },
      ),
      { maxLength: 4 },
    ),
  },
  { requiredKeys: [] },
);

const UNITS = ['UNKNOWN', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR', 'WEEK'] as const;
const header = fc.record({ key: text, value: text });
const responseArb: fc.Arbitrary<RateLimitResponse> = fc.record({
  overall_code: fc.constantFrom('OK', 'OVER_LIMIT'),
  statuses: fc.array(
    fc.record(
      {
        code: fc.constantFrom('OK', 'OVER_LIMIT'),
        current_limit: fc.record({ requests_per_unit: u32, unit: fc.constantFrom(...UNITS), name: text }, { requiredKeys: ['requests_per_unit', 'unit'] }),
        limit_remaining: u32,
        duration_until_reset: fc.record({ seconds: fc.integer({ min: -1e12, max: 1e12 }), nanos: fc.integer({ min: -999_999_999, max: 999_999_999 }) }),
      },
      { requiredKeys: ['code', 'limit_remaining'] },
    ),
    { maxLength: 4 },
  ),
  response_headers_to_add: fc.array(header, { maxLength: 4 }),
  request_headers_to_add: fc.array(header, { maxLength: 2 }),
});

/** What protobufjs reads, with the defaults proto3 cannot send filled in as the codec fills them. */
function viaProtobufjs(bytes: Uint8Array): unknown {
  const o = Request.toObject(Request.decode(bytes), TO_OBJECT) as { domain?: string; hits_addend?: number; descriptors?: { entries?: { key?: string; value?: string }[]; limit?: object; hits_addend?: object }[] };
  return {
    domain: o.domain ?? '',
    hits_addend: o.hits_addend ?? 0,
    descriptors: (o.descriptors ?? []).map((d) => ({
      entries: (d.entries ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
      ...(d.limit ? { limit: { requests_per_unit: 0, unit: 0, ...d.limit } } : {}),
      ...(d.hits_addend ? { hits_addend: { value: 0, ...d.hits_addend } } : {}),
    })),
  };
}

describe('gRPC codec against protobufjs', () => {
  it('decodes every RateLimitRequest protobufjs writes as protobufjs reads it', () => {
    fc.assert(
      fc.property(requestArb, (req) => {
        const bytes = Request.encode(Request.fromObject(req)).finish();
        expect(decodeRateLimitRequest(Buffer.from(bytes))).toEqual(viaProtobufjs(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('writes RateLimitResponses that protobufjs reads back as given', () => {
    fc.assert(
      fc.property(responseArb, (res) => {
        const framed = encodeRateLimitResponse(res);
        expect(framed[0]).toBe(0);
        expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
        const back = Response.toObject(Response.decode(framed.subarray(5)), { longs: Number, enums: String, defaults: true });
        expect(back.overall_code).toBe(res.overall_code);
        expect(back.statuses).toHaveLength(res.statuses.length);
        res.statuses.forEach((s, i) => {
          const b = back.statuses[i];
          expect(b.code).toBe(s.code);
          expect(b.limit_remaining).toBe(s.limit_remaining);
          if (s.current_limit) expect(b.current_limit).toEqual({ requests_per_unit: s.current_limit.requests_per_unit, unit: s.current_limit.unit, name: s.current_limit.name ?? '' });
          else expect(b.current_limit).toBeNull();
          if (s.duration_until_reset) expect(b.duration_until_reset).toEqual(s.duration_until_reset);
        });
        expect(back.response_headers_to_add.map((h: { key: string; value: string }) => ({ key: h.key, value: h.value }))).toEqual(res.response_headers_to_add);
        expect(back.request_headers_to_add.map((h: { key: string; value: string }) => ({ key: h.key, value: h.value }))).toEqual(res.request_headers_to_add);
      }),
      { numRuns: 500 },
    );
  });

  it('reads and writes the health messages', () => {
    for (const service of ['', 'envoy.service.ratelimit.v3.RateLimitService', 'é']) {
      expect(decodeHealthCheckRequest(Buffer.from(HealthRequest.encode({ service }).finish()))).toEqual({ service });
    }
    for (const status of ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const) {
      const framed = encodeHealthCheckResponse(status);
      expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
      expect(HealthResponse.toObject(HealthResponse.decode(framed.subarray(5)), { enums: String, defaults: true })).toEqual({ status });
    }
  });

  it('skips unknown fields of every wire type, as protobuf requires', () => {
    const known = Buffer.from(Request.encode({ domain: 'edge', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }] }).finish());
    // field 9 varint 300, field 10 fixed64, field 11 bytes "xyz", field 12 fixed32, then the known fields
    const unknown = Buffer.from([0x48, 0xac, 0x02, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 3, 0x78, 0x79, 0x7a, 0x65, 1, 2, 3, 4]);
    expect(decodeRateLimitRequest(Buffer.concat([unknown, known]))).toEqual(decodeRateLimitRequest(known));
  });

  it('refuses malformed bytes with an EnvoyRequestError that says where, and nothing else', () => {
    const good = Buffer.from(Request.encode({ domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }] }] }).finish());
    for (let cut = 1; cut < good.length; cut++) {
      let error: unknown;
      try {
        decodeRateLimitRequest(good.subarray(0, cut));
      } catch (e) {
        error = e;
      }
      // Every cut inside a field is refused; a cut between top-level fields is a shorter valid message.
      if (error) expect(error).toBeInstanceOf(EnvoyRequestError);
      if (error) expect((error as Error).message).toMatch(/RateLimitRequest is not valid protobuf: .* at byte \d+/);
    }
    expect(() => decodeRateLimitRequest(Buffer.from([0x0a, 0x05, 0x61]))).toThrow(/runs past the end/);
    expect(() => decodeRateLimitRequest(Buffer.from([0x0b]))).toThrow(/wire type 3/);
    expect(() => decodeRateLimitRequest(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than 10 bytes/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeRateLimitRequest(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(EnvoyRequestError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
