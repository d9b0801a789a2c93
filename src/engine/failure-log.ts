/**
 * Store-failure logs, rate-limited. A warning with a stack per failed decision wrote
 * 34 MB in 30 s during an outage; this writes the first failure at once, then at most
 * one line per interval with the count of failures since the previous line and the
 * last error's message (never a stack). A trailing line is written once failures stop,
 * so no count is lost.
 */
export interface FailureSummary {
  /** Failures since the previous line. */
  failures: number;
  /** The last failure's message. */
  error: string;
  /** The interval the count covers, ms (0 for the first line). */
  sinceMs: number;
}

export class FailureLog {
  private pending = 0;
  // Stryker disable next-line StringLiteral: never read before note() sets it (a line needs a pending failure)
  private lastError = '';
  private lastLine = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (s: FailureSummary) => void,
    private readonly intervalMs = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts one failure; writes a line when the interval has passed since the last one. */
  readonly note = (error: unknown): void => {
    this.pending++;
    this.lastError = messageOf(error);
    const now = this.clock();
    if (now - this.lastLine >= this.intervalMs) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs - (now - this.lastLine));
      this.timer.unref();
    }
  };

  /** Writes the pending count now (on shutdown, or from the trailing timer). */
  flush(): void {
    // Stryker disable next-line ConditionalExpression: clearTimeout(undefined) does nothing
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === 0) return;
    const now = this.clock();
    this.write({ failures: this.pending, error: this.lastError, sinceMs: Number.isFinite(this.lastLine) ? now - this.lastLine : 0 });
    this.pending = 0;
    this.lastLine = now;
  }
}

function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}
