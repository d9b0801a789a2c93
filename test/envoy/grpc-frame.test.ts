/** gRPC's length-prefixed messages read back whatever the DATA frames' cut. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameMessage, GrpcFrameError, MessageReader } from '../../src/envoy/grpc-frame.js';

function readAll(reader: MessageReader, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) reader.push(c, (m) => out.push(Buffer.from(m)));
  return out;
}

/** `bytes` cut at the given offsets (sorted, deduplicated, inside the buffer). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

describe('gRPC message framing', () => {
  it('reassembles any sequence of messages cut anywhere, in order, with nothing left over', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, at) => {
        const wire = Buffer.concat(messages.map((m) => frameMessage(m)));
        const reader = new MessageReader(1024);
        const got = readAll(reader, cut(wire, at));
        expect(got.map((m) => [...m])).toEqual(messages.map((m) => [...m]));
        expect(reader.partial).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('holds a message cut short, and says so at the end of the stream', () => {
    const reader = new MessageReader(1024);
    expect(readAll(reader, [frameMessage(Buffer.from('hello')).subarray(0, 7)])).toEqual([]);
    expect(reader.partial).toBe(true);
    const prefixOnly = new MessageReader(1024);
    readAll(prefixOnly, [Buffer.from([0, 0])]);
    expect(prefixOnly.partial).toBe(true);
  });

  it('reads an empty message whose prefix comes in two pieces', () => {
    const reader = new MessageReader(1024);
    expect(readAll(reader, [Buffer.from([0, 0, 0]), Buffer.from([0, 0])]).map((m) => m.length)).toEqual([0]);
    expect(reader.partial).toBe(false);
  });

  it('refuses a message past the limit from its prefix alone, and takes one at the limit', () => {
    const reader = new MessageReader(16);
    const prefix = Buffer.from([0, 0, 0, 0, 17]);
    expect(() => readAll(reader, [prefix.subarray(0, 2), prefix.subarray(2)])).toThrow(new GrpcFrameError('too-large', 'the message is 17 bytes; at most 16'));
    expect(readAll(new MessageReader(16), [frameMessage(Buffer.alloc(16))])).toHaveLength(1);
    const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => readAll(new MessageReader(4 * 1024 * 1024), [huge])).toThrow(/4294967295 bytes; at most 4194304/);
  });

  it('refuses a compressed message and a flag that is neither 0 nor 1', () => {
    expect(() => readAll(new MessageReader(64), [Buffer.from([1, 0, 0, 0, 1, 7])])).toThrow(expect.objectContaining({ kind: 'compressed', message: expect.stringMatching(/compressed/) }));
    expect(() => readAll(new MessageReader(64), [Buffer.from([2, 0, 0, 0, 0])])).toThrow(/compressed flag is 2/);
  });
});
