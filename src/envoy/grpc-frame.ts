/**
 * gRPC's length-prefixed messages over an HTTP/2 stream's DATA: each message is a 1-byte
 * compressed flag, a 4-byte big-endian length, then the bytes. A message may arrive split across
 * any number of DATA frames, and one frame may carry several messages (or their pieces); the
 * reader reassembles them whatever the cut, and refuses a message past the size limit as soon
 * as its prefix announces it (nothing past the prefix is buffered).
 */

/** Why a stream's bytes cannot be read as messages; the server turns it into a grpc-status. */
export class GrpcFrameError extends Error {
  constructor(
    readonly kind: 'too-large' | 'compressed',
    message: string,
  ) {
    super(message);
    this.name = 'GrpcFrameError';
  }
}

export class MessageReader {
  /** Bytes of an incomplete prefix or message. */
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The length of the message being gathered, once its prefix is in; -1 while reading a prefix. */
  private want = -1;

  constructor(private readonly maxBytes: number) {}

  /** Whether bytes of an unfinished message are held (at the end of the stream: a truncated message). */
  get partial(): boolean {
    return this.pendingBytes > 0 || this.want >= 0;
  }

  /**
   * Feeds one DATA chunk; calls `onMessage` for each message it completes, in order.
   * Throws GrpcFrameError for a message that is too large or compressed.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let at = 0;
    // The common case: nothing held, and the chunk is whole messages.
    while (this.pendingBytes === 0 && this.want < 0 && chunk.length - at >= 5) {
      const len = this.prefix(chunk, at);
      if (chunk.length - at - 5 < len) break;
      onMessage(chunk.subarray(at + 5, at + 5 + len));
      at += 5 + len;
    }
    if (at === chunk.length) return;
    this.hold(at === 0 ? chunk : chunk.subarray(at));
    for (;;) {
      if (this.want < 0) {
        if (this.pendingBytes < 5) return;
        const head = this.take(5);
        this.want = this.prefix(head, 0);
      }
      if (this.pendingBytes < this.want) return;
      const message = this.take(this.want);
      this.want = -1;
      onMessage(message);
    }
  }

  /** The length a prefix announces, after its checks. */
  private prefix(buf: Buffer, at: number): number {
    const flag = buf[at];
    const len = buf.readUInt32BE(at + 1);
    if (flag !== 0) throw new GrpcFrameError('compressed', flag === 1 ? 'the message is compressed; this server takes only uncompressed messages (grpc-encoding identity)' : `the message's compressed flag is ${flag}; it must be 0`);
    if (len > this.maxBytes) throw new GrpcFrameError('too-large', `the message is ${len} bytes; at most ${this.maxBytes}`);
    return len;
  }

  private hold(buf: Buffer): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  /** The first `n` held bytes (copied only when they span chunks). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.pending[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const head = this.pending[0];
        const part = Math.min(head.length, n - filled);
        head.copy(out, filled, 0, part);
        filled += part;
        if (part === head.length) this.pending.shift();
        else this.pending[0] = head.subarray(part);
      }
    }
    this.pendingBytes -= n;
    return out;
  }
}

/** One uncompressed message with its 5-byte prefix. */
export function frameMessage(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
