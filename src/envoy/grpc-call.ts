/**
 * One gRPC call on a node:http2 stream: its request gathered from DATA frames (./grpc-frame.ts),
 * its deadline and liveness, and its answer — one message then grpc-status 0 in trailers, or a
 * status alone (trailers-only when nothing was sent yet).
 */
import http2 from 'node:http2';
import { MessageReader, type GrpcFrameError } from './grpc-frame.js';
import { encodeGrpcMessage, GrpcStatus, type GrpcStatusCode } from './grpc-status.js';
import { EnvoyRequestError } from './types.js';

/** Whether a call is still worth deciding: not cancelled by the client, and its deadline (if any) not passed. */
export function callLiveness(call: { cancelled: boolean; getDeadline(): Date | number }): 'live' | 'deadline' | 'cancelled' {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (Number.isFinite(at) && at <= Date.now()) return 'deadline';
  return call.cancelled ? 'cancelled' : 'live';
}

export type Method = (call: Call, request: Buffer) => void;

export const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS = { 'grpc-status': '0' };
export function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** One call: its stream, its deadline, its request as it arrives, and whether it has been answered. */
export class Call {
  answered = false;
  readonly reader: MessageReader;
  /** The request message, once whole, and how many came (a unary call takes exactly one). */
  request: Buffer | undefined;
  count = 0;
  /** A server-streaming call whose headers went out; it ends with trailers of its own. */
  streaming = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly deadline: number,
    readonly method: Method,
    maxBytes: number,
    readonly onError: ((error: unknown) => void) | undefined,
  ) {
    this.reader = new MessageReader(maxBytes);
  }

  readonly take = (message: Buffer): void => {
    this.count++;
    this.request = message;
  };

  /** The client reset the stream (or the connection went) before an answer. */
  get cancelled(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  getDeadline(): number {
    return this.deadline;
  }

  readonly liveness = (): 'live' | 'deadline' | 'cancelled' => callLiveness(this);

  /** A failure of this server's own code while answering: reported, and the call ends INTERNAL (or is reset). */
  readonly crash = (e: unknown): void => {
    this.onError?.(e);
    if (!this.answered) this.fail(GrpcStatus.INTERNAL, 'internal error while answering; the server log has the details');
    else if (!this.streaming && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  };

  /** Answers with one message and grpc-status 0. */
  reply(message: Buffer): void {
    if (!this.settle()) return;
    const s = this.stream;
    s.respond(OK_HEADERS, { waitForTrailers: true });
    s.on('wantTrailers', sendOkTrailers); // each fires once: on() spares once()'s wrapper
    s.end(message);
  }

  /** Answers with a status and no message. */
  fail(code: GrpcStatusCode, message: string): void {
    if (!this.settle()) return;
    endWithStatus(this.stream, code, message);
  }

  /** The deadline passed: a call not yet answered, or a stream still open, ends DEADLINE_EXCEEDED. */
  expire(): void {
    const message = 'the deadline passed before the call was answered';
    if (!this.answered) this.fail(GrpcStatus.DEADLINE_EXCEEDED, message);
    else if (this.streaming) endWithStatus(this.stream, GrpcStatus.DEADLINE_EXCEEDED, message);
  }

  /** Marks the call answered; false when it already was or can no longer be. */
  private settle(): boolean {
    if (this.answered) return false;
    this.answered = true;
    if (this.timer) clearTimeout(this.timer);
    return !this.stream.destroyed && !this.stream.closed;
  }
}

/**
 * Ends a stream with a status: trailers-only when nothing was sent yet, else trailers. A client
 * still sending (a refused message mid-stream) is then told to stop with RST_STREAM(NO_ERROR).
 */
export function endWithStatus(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string, httpStatus = 200, extra?: Record<string, string>): void {
  if (stream.destroyed || stream.closed) return;
  const status = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message), ...extra };
  if (stream.headersSent) {
    stream.once('wantTrailers', () => stream.sendTrailers(status));
    stream.end();
  } else {
    stream.respond({ ':status': httpStatus, 'content-type': 'application/grpc', ...status }, { endStream: true });
  }
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** Gathers the call's one request message (unary and server-streaming calls send exactly one), then runs the method. */
export function readOneMessage(call: Call): void {
  const onData = (chunk: Buffer): void => {
    try {
      call.reader.push(chunk, call.take);
    } catch (e) {
      call.stream.off('data', onData);
      call.stream.resume();
      const err = e as GrpcFrameError;
      call.fail(err.kind === 'too-large' ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, err.message);
    }
  };
  call.stream.on('data', onData);
  call.stream.on('end', () => onCallEnd(call));
}

function onCallEnd(call: Call): void {
  if (call.answered) return;
  if (call.reader.partial) return call.fail(GrpcStatus.INTERNAL, 'the stream ended inside a message (a truncated length-prefixed message)');
  const count = call.count;
  if (count !== 1) return call.fail(GrpcStatus.INTERNAL, count === 0 ? 'the call ended without a request message' : `the call sent ${count} request messages; this method takes one`);
  try {
    call.method(call, call.request!);
  } catch (e) {
    if (e instanceof EnvoyRequestError) call.fail(GrpcStatus.INVALID_ARGUMENT, e.message);
    else call.crash(e);
  }
}
