/**
 * Small SVG charts written as text, so the report needs no script, no library and no
 * network: a time-series line chart and a horizontal bar chart. Native <title>
 * elements give hover tooltips.
 */

export const PALETTE = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface Series {
  name: string;
  values: readonly number[];
  color: string;
}

export interface TimeChart {
  title: string;
  startMs: number;
  stepMs: number;
  series: readonly Series[];
  /** Drawn as a grey area behind the lines, on its own scale (right axis). */
  background?: { name: string; values: readonly number[] };
  /** Same y scale across charts shown side by side. */
  yMax?: number;
  width?: number;
  height?: number;
}

const M = { top: 52, right: 56, bottom: 34, left: 56 };

/** Refusals (or anything counted) per time bucket, one line per series. */
export function timeChart(c: TimeChart): string {
  const W = c.width ?? 880;
  const H = c.height ?? 300;
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const n = Math.max(1, ...c.series.map((s) => s.values.length), c.background?.values.length ?? 0);
  const yMax = niceMax(c.yMax ?? Math.max(1, ...c.series.flatMap((s) => s.values)));
  const x = (i: number) => M.left + (n === 1 ? iw / 2 : (i / (n - 1)) * iw);
  const y = (v: number) => M.top + ih - (v / yMax) * ih;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart time-chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(c.title)}">`];
  parts.push(`<text x="${M.left}" y="20" class="title">${esc(c.title)}</text>`);
  // grid and y axis
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    parts.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(v)}</text>`);
  }
  if (c.background && c.background.values.length) {
    const bMax = niceMax(Math.max(1, ...c.background.values));
    const by = (v: number) => M.top + ih - (v / bMax) * ih;
    const pts = c.background.values.map((v, i) => `${x(i).toFixed(1)},${by(v).toFixed(1)}`);
    parts.push(`<polygon class="background" points="${x(0).toFixed(1)},${M.top + ih} ${pts.join(' ')} ${x(c.background.values.length - 1).toFixed(1)},${M.top + ih}"><title>${esc(c.background.name)}</title></polygon>`);
    parts.push(`<text x="${M.left + iw + 6}" y="${M.top + 4}" class="tick bg-tick">${fmt(bMax)}</text>`);
  }
  // x axis: up to 6 time labels
  const labels = Math.min(6, n);
  for (let k = 0; k < labels; k++) {
    const i = labels === 1 ? 0 : Math.round((k * (n - 1)) / (labels - 1));
    const t = new Date(c.startMs + i * c.stepMs).toISOString();
    parts.push(`<text x="${x(i).toFixed(1)}" y="${H - 12}" text-anchor="middle" class="tick">${t.slice(5, 10)} ${t.slice(11, 16)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${M.top + ih}" y2="${M.top + ih}" class="axis"/>`);
  c.series.forEach((s) => {
    if (!s.values.some((v) => v > 0)) return;
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const total = s.values.reduce((a, b) => a + b, 0);
    parts.push(`<polyline class="series" points="${pts}" fill="none" stroke="${s.color}" stroke-width="1.6"><title>${esc(s.name)}: ${total} refused</title></polyline>`);
  });
  // legend
  let lx = M.left;
  for (const s of c.series) {
    parts.push(`<rect x="${lx}" y="29" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="38" class="legend">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 6.5;
  }
  if (c.background) parts.push(`<rect x="${lx}" y="29" width="10" height="10" class="background"/><text x="${lx + 14}" y="38" class="legend">${esc(c.background.name)} (right scale)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface Bar {
  label: string;
  /** How much was used … */
  value: number;
  /** … of this limit (the 100% line). */
  limit: number;
  note?: string;
}

/** Usage against a limit: one bar per key, the limit drawn as a line at 100%. */
export function usageBars(title: string, bars: readonly Bar[], width = 880): string {
  const rowH = 22;
  const labelW = 260;
  const H = 40 + Math.max(1, bars.length) * rowH + 24;
  const iw = width - labelW - 210;
  const maxFrac = Math.max(1, ...bars.map((b) => b.value / (b.limit || 1)));
  const x = (f: number) => labelW + (f / maxFrac) * iw;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart usage-chart" viewBox="0 0 ${width} ${H}" width="${width}" height="${H}" role="img" aria-label="${esc(title)}">`];
  parts.push(`<text x="10" y="20" class="title">${esc(title)}</text>`);
  bars.forEach((b, i) => {
    const f = b.value / (b.limit || 1);
    const top = 34 + i * rowH;
    const color = f >= 1 ? PALETTE[0] : f >= 0.8 ? PALETTE[2] : PALETTE[1];
    parts.push(`<text x="${labelW - 8}" y="${top + 14}" text-anchor="end" class="label">${esc(b.label)}</text>`);
    parts.push(`<rect class="bar" x="${labelW}" y="${top + 3}" width="${Math.max(1, x(f) - labelW).toFixed(1)}" height="${rowH - 7}" fill="${color}"><title>${esc(b.label)}: ${fmt(b.value)} of ${fmt(b.limit)}${b.note ? ` (${esc(b.note)})` : ''}</title></rect>`);
    parts.push(`<text x="${(x(f) + 6).toFixed(1)}" y="${top + 14}" class="tick">${fmt(b.value)} / ${fmt(b.limit)}${b.note ? ` · ${esc(b.note)}` : ''}</text>`);
  });
  const lim = x(1).toFixed(1);
  parts.push(`<line x1="${lim}" x2="${lim}" y1="30" y2="${H - 18}" class="limit"/><text x="${lim}" y="${H - 6}" text-anchor="middle" class="tick">limit</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface GroupedBar {
  label: string;
  values: readonly number[];
}

/** Side-by-side bars per group (e.g. refusals per rule, baseline vs candidate). */
export function groupedBars(title: string, names: readonly string[], groups: readonly GroupedBar[], width = 880): string {
  const rowH = 18 * names.length + 10;
  const labelW = 260;
  const H = 44 + Math.max(1, groups.length) * rowH + 10;
  const iw = width - labelW - 120;
  const max = niceMax(Math.max(1, ...groups.flatMap((g) => g.values)));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart compare-chart" viewBox="0 0 ${width} ${H}" width="${width}" height="${H}" role="img" aria-label="${esc(title)}">`];
  parts.push(`<text x="10" y="20" class="title">${esc(title)}</text>`);
  let lx = labelW;
  names.forEach((n, k) => {
    parts.push(`<rect x="${lx}" y="11" width="10" height="10" fill="${PALETTE[k + 1]}"/><text x="${lx + 14}" y="20" class="legend">${esc(n)}</text>`);
    lx += 30 + n.length * 6.5;
  });
  groups.forEach((g, i) => {
    const top = 36 + i * rowH;
    parts.push(`<text x="${labelW - 8}" y="${top + rowH / 2 + 2}" text-anchor="end" class="label">${esc(g.label)}</text>`);
    g.values.forEach((v, k) => {
      const w = (v / max) * iw;
      parts.push(`<rect class="bar" x="${labelW}" y="${top + k * 18}" width="${Math.max(1, w).toFixed(1)}" height="14" fill="${PALETTE[k + 1]}"><title>${esc(g.label)}, ${esc(names[k])}: ${fmt(v)}</title></rect>`);
      parts.push(`<text x="${(labelW + Math.max(1, w) + 6).toFixed(1)}" y="${top + k * 18 + 11}" class="tick">${fmt(v)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}
