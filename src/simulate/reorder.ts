import type { LogEntry } from './log-entry.js';

/**
 * Puts slightly out-of-order lines back in time order before they are replayed (logs
 * written by several workers interleave by up to a few seconds). A line is held until
 * the log has moved `windowMs` past it, then released in (time, line) order; lines in
 * order go through a plain queue and only the stragglers through a heap, so an ordered
 * log pays O(1) per line. At most `maxHeld` lines are held: past that the oldest is
 * released early, so memory is bounded whatever the log does.
 *
 * A line older than one already released cannot be put back: it is released at once
 * and counted late (the replay decides it at the time already reached; the clock never
 * runs backwards).
 */
export class ReorderBuffer {
  private readonly queue: LogEntry[] = [];
  private head = 0;
  private readonly heap: LogEntry[] = [];
  private newest = -Infinity;
  /** Time of the last released line. */
  private released = -Infinity;
  lateCount = 0;
  readonly late: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly emit: (e: LogEntry) => void,
    private readonly maxHeld = 1_000_000,
    private readonly maxLateListed = 100,
  ) {}

  push(e: LogEntry): void {
    if (e.timeMs < this.released) {
      this.lateCount++;
      if (this.late.length < this.maxLateListed) this.late.push(e.line);
      this.emit(e);
      return;
    }
    const tail = this.queue.length > this.head ? this.queue[this.queue.length - 1].timeMs : -Infinity;
    if (e.timeMs >= tail) this.queue.push(e);
    else heapPush(this.heap, e);
    if (e.timeMs > this.newest) this.newest = e.timeMs;
    this.drain(this.newest - this.windowMs);
    while (this.held > this.maxHeld) this.releaseOne();
  }

  /** Releases everything still held, in order. */
  flush(): void {
    while (this.held > 0) this.releaseOne();
  }

  private get held(): number {
    return this.queue.length - this.head + this.heap.length;
  }

  private drain(upTo: number): void {
    for (;;) {
      const q = this.head < this.queue.length ? this.queue[this.head] : undefined;
      const h = this.heap[0];
      const next = q && (!h || before(q, h)) ? q : h;
      if (!next || next.timeMs > upTo) return;
      this.releaseOne();
    }
  }

  private releaseOne(): void {
    const q = this.head < this.queue.length ? this.queue[this.head] : undefined;
    const h = this.heap[0];
    let e: LogEntry;
    if (q && (!h || before(q, h))) {
      e = q;
      this.head++;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    } else e = heapPop(this.heap);
    this.released = e.timeMs;
    this.emit(e);
  }
}

function before(a: LogEntry, b: LogEntry): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.line < b.line);
}

function heapPush(heap: LogEntry[], e: LogEntry): void {
  let i = heap.push(e) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(heap[i], heap[p])) break;
    [heap[i], heap[p]] = [heap[p], heap[i]];
    i = p;
  }
}

function heapPop(heap: LogEntry[]): LogEntry {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  return top;
}
