/**
 * A priority queue of FIFO lanes: higher priority first, first-come first-served
 * within a priority. Priorities are few in practice (a handful of levels), so one
 * array per level beats a heap: O(levels) per operation, stable order for free, and
 * both ends of every lane are reachable, which the 'drop-oldest' policy needs.
 *
 * Entries removed out of order (a caller's AbortSignal) are marked dead and skipped
 * lazily; `size` counts live entries only.
 */
export interface Queued {
  priority: number;
  /** False once removed (cancelled, dropped, started). */
  live: boolean;
}

class Lane<T> {
  items: T[] = [];
  head = 0;
  live = 0;
  constructor(readonly priority: number) {}

  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export class PriorityLanes<T extends Queued> {
  /** Sorted by priority, highest first. */
  private lanes: Lane<T>[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const lane = this.lane(item.priority);
    lane.items.push(item);
    lane.live++;
    this.count++;
  }

  /** Puts an item back at the front of its priority (a retry keeps its place in line). */
  unshift(item: T): void {
    const lane = this.lane(item.priority);
    if (lane.head > 0) lane.items[--lane.head] = item;
    else lane.items.unshift(item);
    lane.live++;
    this.count++;
  }

  /** Removes and returns the next item to run. */
  shift(): T | undefined {
    for (const lane of this.lanes) {
      const item = this.takeOldest(lane);
      if (item) {
        lane.compact();
        return item;
      }
    }
    return undefined;
  }

  /** Removes and returns the longest-waiting item of the lowest priority (the 'drop-oldest' victim). */
  shiftLowest(): T | undefined {
    for (let i = this.lanes.length - 1; i >= 0; i--) {
      const item = this.takeOldest(this.lanes[i]);
      if (item) return item;
    }
    return undefined;
  }

  /** Takes a lane's oldest live item, skipping the ones removed in place. */
  private takeOldest(lane: Lane<T>): T | undefined {
    if (lane.live === 0) return undefined;
    while (lane.head < lane.items.length) {
      const item = lane.items[lane.head];
      lane.items[lane.head++] = undefined as unknown as T;
      if (!item.live) continue;
      item.live = false;
      lane.live--;
      this.count--;
      return item;
    }
    return undefined;
  }

  /** The lowest priority present, or undefined when empty. */
  lowestPriority(): number | undefined {
    for (let i = this.lanes.length - 1; i >= 0; i--) if (this.lanes[i].live > 0) return this.lanes[i].priority;
    return undefined;
  }

  /** Marks an item removed (it stays in its lane until shifted past). */
  remove(item: T): boolean {
    if (!item.live) return false;
    item.live = false;
    const lane = this.lanes.find((l) => l.priority === item.priority);
    if (lane) lane.live--;
    this.count--;
    return true;
  }

  /** Removes and returns every live item, in run order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item; item = this.shift()) out.push(item);
    this.lanes = [];
    return out;
  }

  private lane(priority: number): Lane<T> {
    let lo = 0;
    let hi = this.lanes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lanes[mid].priority > priority) lo = mid + 1;
      else hi = mid;
    }
    const found = this.lanes[lo];
    if (found && found.priority === priority) return found;
    const lane = new Lane<T>(priority);
    this.lanes.splice(lo, 0, lane);
    return lane;
  }
}
