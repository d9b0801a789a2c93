import { basename } from 'node:path';
import type { PolicyRun, RuleSummary, SimulationResult } from '../result.js';
import { keyText } from '../summary.js';
import { esc, fmt, groupedBars, PALETTE, timeChart, usageBars, type Series } from './svg.js';

/**
 * `--report report.html`: one self-contained file (inline CSS and SVG, no script, no
 * fonts, no images from anywhere), so it opens offline and can be mailed around:
 * refusals over time per rule, usage of the busiest keys against their limit, the
 * rule table, the top refused keys, unparsed lines, and with --compare the two
 * policies side by side.
 */
export function renderReport(r: SimulationResult): string {
  const c = r.compare;
  const sections: string[] = [];
  sections.push(`<h1>What would this policy have done?</h1>`);
  sections.push(
    `<p class="meta">${r.lines.toLocaleString('en-US')} lines (${esc(r.format)}), ${r.decided.toLocaleString('en-US')} decided, ${r.unparsed} unparsed${r.from ? `; log time ${esc(r.from)} → ${esc(r.to!)}` : ''}.</p>`,
  );
  const baseRun: PolicyRun = { policy: r.policy, decided: r.decided, unauthenticated: r.unauthenticated, unmatched: r.unmatched, rules: r.rules, timeline: r.timeline };
  if (c) {
    const yMax = Math.max(1, ...Object.values(r.timeline.refused).flat(), ...Object.values(c.run.timeline.refused).flat());
    sections.push(`<h2>Side by side</h2>`);
    sections.push(`<div class="pair"><div>${refusalChart(baseRun, `baseline (${basename(r.policy)})`, yMax, 560)}</div><div>${refusalChart(c.run, `candidate (${basename(c.policy)})`, yMax, 560)}</div></div>`);
    const names = [...new Set([...r.rules.map((x) => x.rule), ...c.run.rules.map((x) => x.rule)])];
    const by = (rules: RuleSummary[], n: string) => {
      const x = rules.find((q) => q.rule === n);
      return x ? x.refused + x.dropped : 0;
    };
    sections.push(groupedBars('Refused and dropped, per rule', ['baseline', 'candidate'], names.map((n) => ({ label: n, values: [by(r.rules, n), by(c.run.rules, n)] }))));
    sections.push(`<p class="diff"><b>${c.newlyRefused.toLocaleString('en-US')}</b> newly refused, <b>${c.newlyAdmitted.toLocaleString('en-US')}</b> newly admitted.</p>`);
    sections.push(diffTable(r));
  }
  sections.push(`<h2>${c ? 'Baseline: ' : ''}${esc(r.policy)}</h2>`);
  sections.push(policySection(baseRun));
  if (c) {
    sections.push(`<h2>Candidate: ${esc(c.policy)}</h2>`);
    sections.push(policySection(c.run));
  }
  if (r.unparsedLines.length) {
    sections.push(`<h2>Unparsed lines (${r.unparsed})</h2><table><tr><th>line</th><th>why</th></tr>${r.unparsedLines.map((u) => `<tr><td>${u.line}</td><td>${esc(u.reason)}</td></tr>`).join('')}</table>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>sluice simulate: ${esc(r.policy)}</title>
<style>${CSS}</style></head>
<body>${sections.join('\n')}
<footer>sluice simulate · ${esc(new Date().toISOString())}</footer>
</body></html>
`;
}

function refusalChart(run: PolicyRun, title: string, yMax?: number, width?: number): string {
  const series: Series[] = run.rules.map((rule, i) => ({ name: rule.rule, values: run.timeline.refused[rule.rule] ?? [], color: PALETTE[i % PALETTE.length] }));
  return timeChart({
    title: `Refusals per ${run.timeline.widthMs === 60_000 ? 'minute' : `${run.timeline.widthMs / 60_000} minutes`} — ${title}`,
    startMs: run.timeline.startMs,
    stepMs: run.timeline.widthMs,
    series,
    background: { name: 'requests', values: run.timeline.requests },
    yMax,
    width,
  });
}

function policySection(run: PolicyRun): string {
  const out: string[] = [refusalChart(run, basename(run.policy))];
  out.push(ruleTable(run.rules));
  for (const rule of run.rules) {
    if (rule.busiestKeys.length === 0) continue;
    out.push(
      usageBars(
        `Busiest keys of ${rule.rule}: peak usage against the limit (${fmt(rule.limit.count)} per ${windowText(rule.limit.windowMs)})`,
        rule.busiestKeys.map((k) => ({ label: keyText(k.key), value: k.peakUsed, limit: k.limit, note: `${k.requests.toLocaleString('en-US')} requests` })),
      ),
    );
    if (rule.topKeys.length) {
      out.push(`<table class="keys"><caption>Top refused keys, ${esc(rule.rule)}</caption><tr><th>key</th><th>${rule.action === 'drop' ? 'dropped' : 'refused'}</th></tr>${rule.topKeys.map((k) => `<tr><td>${esc(keyText(k.key))}</td><td class="n">${k.refused.toLocaleString('en-US')}</td></tr>`).join('')}</table>`);
    }
  }
  return out.join('\n');
}

function ruleTable(rules: readonly RuleSummary[]): string {
  const rows = rules.map(
    (r) =>
      `<tr><td>${esc(r.rule)}</td><td class="n">${r.matched.toLocaleString('en-US')}</td><td class="n">${r.admitted.toLocaleString('en-US')}</td><td class="n">${r.refused.toLocaleString('en-US')}</td><td class="n">${r.dropped.toLocaleString('en-US')}</td><td>${r.peak ? `${esc(keyText(r.peak.key))}: ${fmt(r.peak.used)} / ${fmt(r.peak.limit)}` : '–'}</td><td>${r.firstRefusal ? `line ${r.firstRefusal.line}, ${esc(new Date(r.firstRefusal.atMs).toISOString())}` : '–'}</td></tr>`,
  );
  return `<table class="rules"><tr><th>rule</th><th>matched</th><th>admitted</th><th>refused</th><th>dropped</th><th>busiest key (peak / limit)</th><th>first refusal</th></tr>${rows.join('')}</table>`;
}

function diffTable(r: SimulationResult): string {
  const rows = r.compare!.rules.flatMap((d) =>
    d.topKeys.map((k) => `<tr><td>${esc(d.rule)}</td><td>${esc(keyText(k.key))}</td><td class="n">${k.newlyRefused ? `+${k.newlyRefused}` : ''}</td><td class="n">${k.newlyAdmitted ? `+${k.newlyAdmitted}` : ''}</td></tr>`),
  );
  return rows.length ? `<table class="diff"><tr><th>rule</th><th>key</th><th>newly refused</th><th>newly admitted</th></tr>${rows.join('')}</table>` : '<p>No request is decided differently.</p>';
}

function windowText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta,footer{color:#666}footer{margin-top:32px;font-size:12px}
table{border-collapse:collapse;margin:10px 0 18px}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}th{background:#f6f6f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:4px 0}
.chart{display:block;max-width:100%;height:auto;margin:8px 0}.pair{display:flex;gap:12px;flex-wrap:wrap}.pair>div{flex:1 1 520px}
.title{font-size:13px;font-weight:600;fill:#222}.tick,.label,.legend{font-size:11px;fill:#444}.grid{stroke:#eee}.axis{stroke:#999}
.background{fill:#e9edf2}.bg-tick{fill:#99a}.limit{stroke:#222;stroke-dasharray:4 3}
.diff b{font-size:16px}
`;
