import { connect, type Socket } from 'node:net';
import { command, ReplyError, RespReader, type Reply } from './resp.js';

/**
 * A second, bare connection to a single Redis node that carries only the transaction calls
 * (FCALL), pipelined, through the hand-written RESP of resp.ts: at one check in flight the
 * client's own cost per round trip is most of what a check costs besides the round trip itself
 * (bench/redis-floor.mjs). ioredis keeps everything else: FUNCTION LOAD, admin commands,
 * heartbeats, Sentinel, Cluster and TLS (RedisStore does not open a lean connection for those).
 *
 * It is an accelerator, never the only way: while it is not ready (connecting, or Redis down),
 * RedisStore sends through ioredis, and the next call after a short backoff connects it again.
 * Every call settles within `timeoutMs` (a hung Redis, as SIGSTOP, answers nothing); a reply
 * that arrives after its call timed out is read and dropped, as ioredis does, so the replies
 * behind it stay matched to their calls. AUTH and SELECT, as in the connection string, go first.
 */
export interface LeanConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  /** Each call (and the handshake) settles within this many ms. */
  timeoutMs: number;
  /** A connection attempt gives up after this many ms. */
  connectTimeoutMs: number;
  /** Called on connection errors and refused handshakes (for logs). */
  onError?: (error: unknown) => void;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  deadline: number;
  /** Timed out: its reply, when it comes, is dropped. */
  settled: boolean;
}

export class LeanConnection {
  private socket: Socket | undefined;
  private isReady = false;
  private closed = false;
  /** Calls sent and not answered yet, in the order their replies come. */
  private readonly pending: Pending[] = [];
  private head = 0;
  private readonly reader = new RespReader((r) => this.onReply(r));
  private timer: NodeJS.Timeout | undefined;
  /** Failed attempts in a row, and when the next may start (backoff as ioredis's: 50 ms × attempts, at most 1 s). */
  private failures = 0;
  private nextAttemptAt = 0;
  private idleWaiters: (() => void)[] = [];
  readonly stats = { connects: 0, calls: 0, timeouts: 0 };

  constructor(private readonly opts: LeanConnectionOptions) {}

  /** Connected, handshake done: calls may go out. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Starts connecting, unless connected, connecting, closed, or within the backoff of a failed attempt. */
  connect(): void {
    if (this.socket !== undefined || this.closed || Date.now() < this.nextAttemptAt) return;
    const o = this.opts;
    const socket = connect({ host: o.host, port: o.port, noDelay: true });
    this.socket = socket;
    socket.setTimeout(o.connectTimeoutMs, () => socket.destroy(new Error(`sluice redis store: could not connect to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.feed(chunk);
      } catch (e) {
        socket.destroy(e as Error);
      }
    });
    socket.on('error', (e) => this.opts.onError?.(e));
    socket.on('close', () => this.onClose(socket));
    socket.on('connect', () => {
      socket.setTimeout(0);
      void this.handshake(socket);
    });
  }

  private async handshake(socket: Socket): Promise<void> {
    const o = this.opts;
    try {
      if (o.password !== undefined) await this.send(o.username !== undefined ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
      if (o.db !== undefined && o.db !== 0) await this.send(['SELECT', String(o.db)]);
    } catch (e) {
      this.opts.onError?.(e);
      socket.destroy();
      return;
    }
    if (this.socket !== socket) return;
    this.isReady = true;
    this.failures = 0;
    this.stats.connects++;
  }

  /**
   * Sends one command (its RESP text, see resp.ts's `command`) and resolves with its reply; an
   * error reply rejects with a ReplyError. Only while `ready`.
   */
  call(text: string): Promise<Reply> {
    if (!this.isReady) return Promise.reject(new Error('sluice redis store: the lean connection is not ready'));
    this.stats.calls++;
    return this.write(text);
  }

  private send(args: readonly string[]): Promise<Reply> {
    return this.write(command(args));
  }

  private write(text: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject, deadline: Date.now() + this.opts.timeoutMs, settled: false });
      this.socket!.write(text);
      if (this.timer === undefined) {
        this.timer = setInterval(() => this.expire(), Math.max(10, Math.floor(this.opts.timeoutMs / 4)));
        this.timer.unref();
      }
    });
  }

  private onReply(reply: Reply): void {
    if (this.head >= this.pending.length) {
      // A reply nobody asked for: the stream cannot be matched to calls any more.
      this.socket?.destroy(new Error('sluice redis store: a reply with no command waiting for it'));
      return;
    }
    const p = this.pending[this.head++];
    if (this.head === this.pending.length) {
      // Every call answered: start the queue afresh (the common case at one call in flight).
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (!p.settled) {
      p.settled = true;
      if (reply instanceof ReplyError) p.reject(reply);
      else p.resolve(reply);
    }
    if (this.head === this.pending.length) this.drained();
  }

  /** Calls past their deadline are rejected (their replies, if they come, are dropped). */
  private expire(): void {
    const now = Date.now();
    for (let i = this.head; i < this.pending.length; i++) {
      const p = this.pending[i];
      if (p.deadline > now) break; // deadlines grow along the queue
      if (p.settled) continue;
      p.settled = true;
      this.stats.timeouts++;
      p.reject(new Error(`sluice redis store: no answer within ${this.opts.timeoutMs} ms`));
    }
    if (this.head === this.pending.length) this.stopTimer();
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    if (!this.isReady) {
      this.failures++;
      this.nextAttemptAt = Date.now() + Math.min(50 * this.failures, 1000);
    }
    this.isReady = false;
    this.reader.reset();
    const gone = this.pending.splice(this.head);
    this.pending.length = 0;
    this.head = 0;
    this.stopTimer();
    const err = new Error('sluice redis store: the connection to Redis closed');
    for (const p of gone) {
      if (p.settled) continue;
      p.settled = true;
      p.reject(err);
    }
    this.drained();
  }

  /**
   * Resolves once every call sent so far was answered (or the connection closed), or after the
   * timeout: commands sent afterwards on another connection then reach Redis after them.
   */
  idle(): Promise<void> {
    if (this.head === this.pending.length) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.opts.timeoutMs);
      t.unref();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private drained(): void {
    if (this.idleWaiters.length === 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}
