/** Global concurrency: a counting semaphore with FIFO hand-off, so no key starves another. */
export class Slots {
  running = 0;
  private waiters: (() => void)[] = [];
  constructor(readonly limit: number) {}

  tryAcquire(): boolean {
    if (this.running >= this.limit || this.waiters.length > 0) return false;
    this.running++;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }
}
