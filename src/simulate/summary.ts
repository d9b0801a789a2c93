import { compact } from './progress.js';
import type { RuleSummary, SimulationResult } from './result.js';
import type { KeyValues } from './tally.js';

/** The terminal summary: what was read, a table per rule, the top refused keys, unparsed lines, and the compare diff. */
export function formatSummary(r: SimulationResult, opts: { top?: number } = {}): string {
  const top = opts.top ?? 5;
  const out: string[] = [];
  const secs = r.elapsedMs / 1000;
  out.push(`${r.lines.toLocaleString('en-US')} lines (${r.format}) in ${secs.toFixed(1)} s${secs > 0 ? `, ${compact(r.lines / secs)} lines/s` : ''}${r.from ? `; log time ${r.from} → ${r.to}` : ''}`);
  const notes = [`${r.decided.toLocaleString('en-US')} decided`];
  if (r.unparsed) notes.push(`${r.unparsed} unparsed`);
  if (r.unauthenticated) notes.push(`${r.unauthenticated} without a trustworthy identity (401 before any rule)`);
  if (r.unmatched) notes.push(`${r.unmatched.toLocaleString('en-US')} matched no rule`);
  if (r.late) notes.push(`${r.late} later than the reorder window`);
  if (r.skipped) notes.push(`${r.skipped} outside --from/--to`);
  out.push(notes.join(', '));
  out.push('', `policy ${r.policy}`);
  out.push(...ruleTable(r.rules));
  for (const rule of r.rules) {
    if (rule.topKeys.length === 0) continue;
    out.push('', `top refused keys, ${rule.rule}:`);
    for (const k of rule.topKeys.slice(0, top)) out.push(`  ${String(k.refused).padStart(8)}  ${keyText(k.key)}`);
  }
  if (r.unparsedLines.length) {
    out.push('', `unparsed lines (${r.unparsed}${r.unparsed > r.unparsedLines.length ? `, first ${r.unparsedLines.length} listed in --json` : ''}):`);
    for (const u of r.unparsedLines.slice(0, 10)) out.push(`  line ${u.line}: ${u.reason}`);
  }
  if (r.lateLines.length) out.push('', `late lines (decided at the time already reached): ${r.lateLines.slice(0, 20).join(', ')}${r.late > 20 ? ', …' : ''}`);
  if (r.compare) {
    const c = r.compare;
    out.push('', `compare with ${c.policy}: ${c.newlyRefused} newly refused, ${c.newlyAdmitted} newly admitted`);
    out.push(...ruleTable(c.run.rules));
    for (const d of c.rules) {
      out.push('', `  ${d.rule}: +${d.newlyRefused} refused, +${d.newlyAdmitted} admitted`);
      for (const k of d.topKeys.slice(0, top)) out.push(`    ${keyText(k.key).padEnd(40)} ${k.newlyRefused ? `+${k.newlyRefused} refused ` : ''}${k.newlyAdmitted ? `+${k.newlyAdmitted} admitted` : ''}`.trimEnd());
    }
  }
  return out.join('\n') + '\n';
}

function ruleTable(rules: readonly RuleSummary[]): string[] {
  const rows = [['rule', 'matched', 'admitted', 'refused', 'dropped', 'busiest key (peak / limit)', 'first refusal']];
  for (const r of rules) {
    rows.push([
      r.rule,
      num(r.matched),
      num(r.admitted),
      num(r.refused),
      num(r.dropped),
      r.peak ? `${keyText(r.peak.key)} ${amount(r.peak.used)} / ${amount(r.peak.limit)}` : '-',
      r.firstRefusal ? `line ${r.firstRefusal.line} ${new Date(r.firstRefusal.atMs).toISOString().slice(11, 19)}` : '-',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row, i) =>
    row
      .map((cell, c) => (c >= 1 && c <= 4 && i > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** Byte-sized numbers read better compacted. */
function amount(n: number): string {
  return n >= 1e6 ? compact(n) : String(Math.round(n * 100) / 100);
}

export function keyText(key: KeyValues): string {
  const parts = Object.entries(key).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(' ') : '(one key)';
}
