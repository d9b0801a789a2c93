import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { start, stopAll, TOKENS, type Service } from '../server/support.js';

/**
 * The dashboard in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * the page shows nothing without a token, its charts move under load, a flooded key tops
 * the refused list, and changes made from the page (override, reset, reload) take effect.
 * Skipped loudly when Chromium is not installed (.ci/run installs it).
 */
const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`\n*** SKIPPED: the dashboard browser tests need Chromium at ${CHROMIUM} (apt-get install -y chromium, or set SLUICE_CHROMIUM) ***\n`);

const OUT = new URL('../../test-output/dashboard/', import.meta.url).pathname;
const DOCS_SCREENSHOT = new URL('../../docs/dashboard.png', import.meta.url).pathname;

const POLICY = `
version: 1
rules:
  - name: per-account
    description: every account, 20 checks a minute
    key: [account]
    limit: 20/1m
  - name: replies
    match: { kind: reply }
    key: [contact]
    limit: 2/1m
    action: drop
overrides:
  - rule: per-account
    key: { account: partner }
    limit: 200/1m
    reason: contract 2026-17
`;

describe.skipIf(!HAVE_CHROMIUM)('the dashboard in Chromium', () => {
  let service: Service;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let policyDir: string;
  const errors: string[] = [];

  const check = (subject: Record<string, string>) => service.post('/v1/check', { subject });
  /** A bounded load on loopback: `count` checks, `concurrency` at a time. */
  const load = async (count: number, subject: (i: number) => Record<string, string>, concurrency = 8) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) await check(subject(next++));
      }),
    );
  };

  beforeAll(async () => {
    policyDir = mkdtempSync(join(tmpdir(), 'sluice-dash-policy-'));
    writeFileSync(join(policyDir, 'policy.yaml'), POLICY);
    service = await start({ config: join(policyDir, 'policy.yaml'), ...TOKENS });
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1500 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await stopAll();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (policyDir) rmSync(policyDir, { recursive: true, force: true });
  });

  async function signIn(token: string) {
    if (await page.locator('#sign-out').isVisible()) await page.click('#sign-out');
    await page.fill('#token', token);
    await page.click('#token-form button');
  }

  it('shows no data without a token, and none with a wrong one', async () => {
    const dataAnswers: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/v1/')) dataAnswers.push(r.status());
    });
    await page.goto(`${service.url}/dashboard`);
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#app').isVisible()).toBe(false);
    expect(await page.locator('#charts .chart').count()).toBe(0);
    expect(dataAnswers).toEqual([]); // it asked for nothing

    await signIn('not-the-token');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/not valid/);
    expect(await page.locator('#app').isVisible()).toBe(false);
    expect(dataAnswers).toEqual([401]);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // Chromium itself logs the 401 this step provoked as a console error; later errors are the page's.
    errors.length = 0;
  });

  it('with the read token, draws live charts that move while a load runs', async () => {
    await signIn(TOKENS.readToken);
    await expect.poll(() => page.locator('#app').isVisible()).toBe(true);
    expect(await page.textContent('#role')).toBe('read only');
    expect(await page.locator('#admin').isVisible()).toBe(false); // changes need the admin token
    const chart = page.locator('.chart[data-rule="per-account"]');
    await expect.poll(() => chart.count()).toBe(1);
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);

    const allowed = async () => Number((await chart.getAttribute('data-allowed')) ?? 0);
    const seen = new Set<number>([await allowed()]);
    // Rounds of 200 checks over 10 new accounts (20 each: all admitted), with pauses, until the
    // chart has shown at least two rising totals (at most 30 rounds: about 6,000 checks).
    let rounds = 0;
    while (seen.size < 3 && rounds < 30) {
      const r = rounds++;
      await load(200, (i) => ({ account: `tenant-${r * 10 + (i % 10)}` }));
      await new Promise((done) => setTimeout(done, 700));
      seen.add(await allowed());
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect([...seen]).toEqual([...seen].sort((a, b) => a - b)); // it only rose
    await expect.poll(allowed, { timeout: 10_000 }).toBe(200 * rounds);
    await expect.poll(() => page.textContent('#health-list')).toMatch(/keys tracked\s*\d+/);
  }, 60_000);

  it('puts a flooded key at the top of the refused list', async () => {
    // Others are refused too, but far less: 5 refusals each for 8 accounts.
    await load(200, (i) => ({ account: `noisy-${i % 8}` }));
    const flooded = Date.now();
    await load(300, () => ({ account: 'flooder' }));
    const first = page.locator('#top-table tbody tr').first();
    await expect.poll(() => first.locator('td.key').textContent(), { timeout: 10_000, interval: 100 }).toBe('account=flooder');
    console.info(`dashboard: the flooded key topped the refused list ${Date.now() - flooded} ms after the flood ended (issue 14 asks for ≤ 2 s)`);
    // The list may show the flood while it runs; by the next polls it has all of it.
    await expect.poll(() => first.locator('td.num').textContent(), { timeout: 10_000 }).toBe('280');
    expect(await first.textContent()).toMatch(/20 \/ 20 used, 0 left/);
  });

  it('with the admin token, sets an override (confirmed) that changes the next decision', async () => {
    for (let i = 0; i < 20; i++) await check({ account: 'vip' });
    expect((await check({ account: 'vip' })).status).toBe(429);

    await signIn(TOKENS.adminToken);
    await expect.poll(() => page.textContent('#role')).toBe('admin');
    await expect.poll(() => page.locator('#admin').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#ov-rule option').count()).toBe(2);
    await page.selectOption('#ov-rule', 'per-account');
    await page.fill('#ov-key', '{"account": "vip"}');
    await page.fill('#ov-limit', '100/1m');
    await page.fill('#ov-ttl', '1h');
    await page.fill('#ov-reason', 'trial of the gold plan');

    // Cancelled: nothing changes.
    await page.click('#override-form button');
    await expect.poll(() => page.locator('#confirm').isVisible()).toBe(true);
    expect(await page.textContent('#confirm-text')).toMatch(/per-account.*account=vip.*100\/1m/);
    await page.click('#confirm-cancel');
    expect((await check({ account: 'vip' })).status).toBe(429);

    // Confirmed: the next decision sees the new limit.
    await page.click('#override-form button');
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#change-log li:first-child')).toMatch(/done/);
    const next = await check({ account: 'vip' });
    expect(next.status).toBe(200);
    expect(next.body.limit).toBe(100);
    // It is listed with its expiry, next to the policy file's own override.
    await expect.poll(() => page.locator('#overrides-table tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.textContent('#overrides-table')).toMatch(/trial of the gold plan/);
    expect(await page.textContent('#overrides-table')).toMatch(/contract 2026-17/);
  });

  it('resets a refused key and reloads the policy, each confirmed', async () => {
    expect((await check({ account: 'flooder' })).status).toBe(429);
    const row = page.locator('#top-table tbody tr', { has: page.locator('td.key', { hasText: 'account=flooder' }) });
    await row.locator('button').click();
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#change-log li:first-child')).toMatch(/Reset the usage of account=flooder.*done/);
    expect((await check({ account: 'flooder' })).status).toBe(200);

    await page.click('#reload-button');
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#change-log li:first-child')).toMatch(/Reload.*done/);
    await expect.poll(() => page.textContent('#reloads-table tbody'), { timeout: 10_000 }).toMatch(/loaded.*admin.*api.*2/);
  });

  it('inspects a subject without charging it', async () => {
    await page.fill('#inspect-subject', '{"account": "vip"}');
    await page.click('#inspect-form button');
    await expect.poll(() => page.textContent('#inspect-table tbody')).toMatch(/per-account/);
    const before = await page.textContent('#inspect-table tbody');
    await page.click('#inspect-form button');
    await expect.poll(() => page.textContent('#inspect-table tbody')).toBe(before);
    expect(before).toMatch(/store/); // the override from the page
  });

  it('saves a screenshot and logged no console errors', async () => {
    await load(60, (i) => ({ account: i % 3 ? 'flooder' : 'noisy-1' }));
    await page.fill('#inspect-subject', '{"account": "flooder"}');
    await page.click('#inspect-form button');
    await new Promise((r) => setTimeout(r, 1500)); // let one more poll draw the last second
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(existsSync(file)).toBe(true);
    if (process.env.SLUICE_UPDATE_SCREENSHOT === '1') {
      mkdirSync(new URL('.', `file://${DOCS_SCREENSHOT}`).pathname, { recursive: true });
      copyFileSync(file, DOCS_SCREENSHOT);
    }
    expect(errors).toEqual([]);
  });
});
