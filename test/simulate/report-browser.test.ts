/**
 * The HTML report in real Chromium: its charts render (SVG with drawn lines and bars),
 * nothing is fetched from anywhere, no console errors; a screenshot is saved under
 * test-results/. Skips loudly when /usr/bin/chromium is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateLog } from '../../src/simulate/generate.js';
import { renderReport } from '../../src/simulate/report/html.js';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import { example, ROUTES, tmpFile } from './support/lines.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`\n*** SKIPPING the HTML report browser test: ${CHROMIUM} not found ***\n`);
const OUT = new URL('../../test-results/', import.meta.url).pathname;

describe('the --report HTML in Chromium', () => {
  it.skipIf(!haveChromium)('renders its charts with no console errors and no network requests', async () => {
    const log = tmpFile('report-sample.log', '');
    await generateLog(log, { lines: 30_000, seed: 3 });
    const raised = tmpFile('report-raised.yaml', `${readFileSync(example('contact-center-ai.yaml'), 'utf8')}\n  - rule: account-per-minute\n    key: { account: acct-1 }\n    limit: 200/1m\n`);
    const result = await simulate({ policy: loadWithRoutes(example('contact-center-ai.yaml'), ROUTES), compare: loadWithRoutes(raised, ROUTES), log });
    expect(result.compare!.newlyAdmitted).toBeGreaterThan(0);
    const html = tmpFile('report.html', renderReport(result));
    writeFileSync(html, renderReport(result));

    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1240, height: 1400 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      const url = pathToFileURL(html).href;
      page.on('request', (r) => {
        if (r.url() !== url) requests.push(r.url());
      });
      await page.goto(url, { waitUntil: 'load' });

      const charts = await page.$$eval('svg.chart', (svgs) =>
        svgs.map((s) => {
          const box = s.getBoundingClientRect();
          return { cls: s.getAttribute('class'), w: box.width, h: box.height, lines: s.querySelectorAll('polyline').length, bars: s.querySelectorAll('rect.bar').length };
        }),
      );
      const time = charts.filter((c) => c.cls!.includes('time-chart'));
      const usage = charts.filter((c) => c.cls!.includes('usage-chart'));
      const side = charts.filter((c) => c.cls!.includes('compare-chart'));
      // baseline and candidate side by side, then each policy's own section
      expect(time.length).toBe(4);
      expect(time.every((c) => c.w > 300 && c.h > 100 && c.lines > 0)).toBe(true);
      expect(usage.length).toBe(2);
      expect(usage.every((c) => c.bars > 0 && c.w > 300)).toBe(true);
      expect(side).toHaveLength(1);
      expect(side[0].bars).toBe(2);
      // a drawn line really has length on screen
      const drawn = await page.$eval('svg.time-chart polyline', (p) => (p as SVGPolylineElement).getTotalLength());
      expect(drawn).toBeGreaterThan(50);
      expect(await page.textContent('body')).toContain('newly admitted');

      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, 'simulate-report.png'), fullPage: true });
      expect(existsSync(join(OUT, 'simulate-report.png'))).toBe(true);
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 60_000);
});
