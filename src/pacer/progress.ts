import { formatRate } from './rate.js';

/** What a progress line shows. */
export interface Progress {
  /** Jobs in all, when known (a file counted up front). */
  total?: number;
  sent: number;
  failed: number;
  queued: number;
  running: number;
  /** Jobs started per second, measured. */
  ratePerSec: number;
  elapsedMs: number;
}

/** 65000 → "1m05s", 3_700_000 → "1h01m", 900 → "0s". */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Time left at the measured rate (at the target rate before anything was measured). */
export function eta(p: Progress, fallbackRatePerSec: number): number | undefined {
  if (p.total === undefined) return undefined;
  const left = Math.max(0, p.total - p.sent - p.failed);
  if (left === 0) return 0;
  const rate = p.ratePerSec > 0 ? p.ratePerSec : fallbackRatePerSec;
  return rate > 0 ? (left / rate) * 1000 : undefined;
}

/**
 * One progress line. `bar` (a TTY) draws a bar, for rewriting in place with \r;
 * otherwise a plain line suited to logs.
 */
export function formatProgress(p: Progress, opts: { bar: boolean; targetRatePerSec: number; width?: number }): string {
  const done = p.sent + p.failed;
  const left = eta(p, opts.targetRatePerSec);
  const parts = [
    `sent ${p.sent}`,
    `failed ${p.failed}`,
    `queued ${p.queued}`,
    `running ${p.running}`,
    `rate ${formatRate(p.ratePerSec)}`,
    left === undefined ? `elapsed ${formatEta(p.elapsedMs)}` : `ETA ${formatEta(left)}`,
  ];
  if (p.total === undefined || p.total === 0) return parts.join('  ');
  const frac = Math.min(1, done / p.total);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  if (!opts.bar) return `${done}/${p.total} (${pct.trim()})  ${parts.join('  ')}`;
  const width = opts.width ?? 24;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pct}  ${parts.join('  ')}`;
}
