import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type AppPage, launchBrowser, openApp, signInAt, startAppServer } from './helpers';

/**
 * The operations pages in Chromium against the real server and three simulated robots: the log's export
 * carries the page's filters, and a simulated robot's job shows its progress on /jobs.
 */
describe('web app: logs, jobs, items', () => {
  let server: TestServer;
  let browser: Browser;
  const opened: AppPage[] = [];

  async function app(opts: Parameters<typeof openApp>[2] = {}) {
    const a = await openApp(browser, server, opts);
    opened.push(a);
    return a;
  }

  beforeAll(async () => {
    [server, browser] = await Promise.all([startAppServer(), launchBrowser()]);
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
  });

  it('exports the filtered log as CSV: the download holds only the entries the filters select', async () => {
    const a = await app();
    await signInAt(a, '/logs?category=auth');
    const { page, problems } = a;
    // The sign-in itself is an auth entry.
    await page.getByTestId('log-entry').first().waitFor();
    const link = page.getByRole('link', { name: 'Export CSV' });
    expect(new URL((await link.getAttribute('href')) ?? '', server.url).searchParams.get('category')).toBe(
      'auth',
    );
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const text = await readFile((await download.path()) ?? '', 'utf8');
    const lines = text.trim().split(/\r?\n/);
    expect(lines[0]).toBe('id,timestamp,level,category,robot_id,source,message,details');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(1)) expect(line.split(',')[3]).toBe('auth');
    expect(problems).toEqual([]);
  }, 60_000);

  it("shows a simulated robot's running job with its progress and phase on /jobs", async () => {
    const a = await app();
    await signInAt(a, '/jobs');
    const { page, problems } = a;
    const job = page.locator('[data-testid^=active-job-]').first();
    await job.waitFor({ timeout: 45_000 });
    await expect
      .poll(() => job.getByTestId('job-progress').textContent())
      .toMatch(/^\d+% · \d+( \/ \d+)? items$/);
    const bar = job.getByRole('progressbar');
    const first = Number(await bar.getAttribute('aria-valuenow'));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await job.getByTestId('job-phase').textContent()).not.toBe('');
    await page.getByRole('heading', { name: 'Statistics' }).waitFor();
    expect(problems).toEqual([]);
  }, 60_000);
});
