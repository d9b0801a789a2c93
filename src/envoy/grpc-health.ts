import { Call, OK_HEADERS, sendOkTrailers } from './grpc-call.js';
import { encodeHealthCheckResponse } from './grpc-codec.js';

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * grpc.health.v1.Health/Watch streams: each gets the current status at once, then a message
 * whenever it changes (the store is pinged every `pollMs` while any stream is open). On close
 * every stream is told NOT_SERVING and ended with grpc-status 0.
 */
export class HealthWatchers {
  private readonly open = new Map<Call, { service: string; last?: HealthStatus }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly status: (service: string) => Promise<HealthStatus>,
    private readonly pollMs: number,
  ) {}

  add(call: Call, service: string): void {
    const stream = call.stream;
    if (stream.destroyed || stream.closed) return;
    call.answered = true;
    call.streaming = true;
    const entry: { service: string; last?: HealthStatus } = { service };
    this.open.set(call, entry);
    stream.once('close', () => {
      if (call.timer) clearTimeout(call.timer);
      this.open.delete(call);
      if (this.open.size === 0) this.stop();
    });
    stream.respond(OK_HEADERS, { waitForTrailers: true });
    this.send(call, entry).catch(call.crash);
    this.timer ??= setInterval(() => {
      for (const [c, e] of this.open) this.send(c, e).catch(c.crash);
    }, this.pollMs).unref();
  }

  private async send(call: Call, entry: { service: string; last?: HealthStatus }): Promise<void> {
    const s = await this.status(entry.service);
    if (s === entry.last || !this.open.has(call)) return;
    entry.last = s;
    call.stream.write(encodeHealthCheckResponse(s));
  }

  closeAll(): void {
    this.stop();
    for (const [call] of this.open) {
      const stream = call.stream;
      if (stream.destroyed || stream.closed) continue;
      stream.once('wantTrailers', sendOkTrailers);
      stream.end(encodeHealthCheckResponse('NOT_SERVING'));
    }
    this.open.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
