import type { InputProgress } from './input.js';

/**
 * A one-line progress bar with rate and ETA on a terminal (stderr), redrawn at most
 * ten times a second; nothing at all when stderr is not a TTY (CI logs, pipes).
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.out.isTTY === true;
  }

  update(lines: number, input: InputProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.out.write(`\r${progressLine(lines, input, now - this.started, Math.max(20, Math.min(40, (this.out.columns ?? 80) - 60)))}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}

/** "[########--------]  52%  5.2M lines  410k lines/s  ETA 12s" (no bar or ETA for stdin, whose size is unknown). */
export function progressLine(lines: number, input: InputProgress, elapsedMs: number, width = 30): string {
  const rate = elapsedMs > 0 ? (lines * 1000) / elapsedMs : 0;
  const counts = `${compact(lines)} lines  ${compact(rate)} lines/s`;
  if (!input.size) return counts;
  const f = Math.min(1, input.read / input.size);
  const full = Math.round(f * width);
  const eta = f > 0 ? (elapsedMs * (1 - f)) / f : NaN;
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${counts}  ETA ${duration(eta)}`;
}

export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(Math.round(n));
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
