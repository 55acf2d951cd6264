import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type AppPage, launchBrowser, openApp, signInAt, startAppServer } from './helpers';

/**
 * The operations pages in Chromium against the real server and three simulated robots: the log's export
 * carries the page's filters, the item catalogue takes an item and a CSV, an alert rule and a webhook channel
 * are made in their forms (a test reaching a receiver on loopback) and show in the audit log, and a simulated
 * robot's job shows its progress on /jobs.
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

  it('adds an item, imports a CSV of more, and finds them with the search', async () => {
    const a = await app();
    await signInAt(a, '/items');
    const { page, problems } = a;
    await page.getByRole('button', { name: /Add item/ }).click();
    const add = page.getByRole('dialog');
    await add.getByLabel(/^Code/).fill('E2E-BOX-1');
    await add.getByLabel(/^Name/).fill('Blue box');
    await add.getByLabel('Weight (kg)').fill('1.5');
    await add.getByRole('button', { name: 'Add item' }).click();
    await page.getByTestId('item-E2E-BOX-1').waitFor();

    await page.getByRole('button', { name: /Import CSV/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('CSV file').setInputFiles({
      name: 'items.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'qr_code,name,location\nE2E-CRATE-1,Red crate,Shelf B\nE2E-CRATE-2,Green crate,Shelf B\n',
      ),
    });
    await dialog.getByRole('button', { name: /^Import$/ }).click();
    await dialog.getByTestId('import-report').waitFor();
    expect(await dialog.getByTestId('import-report').textContent()).toContain(
      '2 rows read: 2 created, 0 updated, 0 rejected.',
    );
    await page.keyboard.press('Escape');
    await page.getByTestId('item-E2E-CRATE-2').waitFor();

    await page.getByLabel(/Search/).fill('crate');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-testid^=item-E2E-]').count()).toBe(2);
    expect(await page.getByTestId('item-E2E-BOX-1').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);

  it('creates an alert rule for one servo, a webhook channel that a test reaches, and finds both in the audit log', async () => {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const a = await app();
      await signInAt(a, '/alerts/rules');
      const { page, problems } = a;
      await page.getByRole('heading', { name: 'Global rules' }).waitFor({ timeout: 20_000 });
      await page.getByRole('button', { name: 'New rule' }).click();
      const form = page.getByRole('dialog');
      await form.getByLabel('Measurement').selectOption('servos');
      await form.getByLabel('Field').fill('temperature_c');
      await form.getByLabel('Only the series with tag (optional)').fill('servo_id');
      await form.getByLabel('Tag value').fill('3');
      await form.getByLabel('Critical level').fill('72');
      await form.getByLabel('Name (optional)').fill('E2E servo 3 hot');
      await form.getByRole('button', { name: 'Create rule' }).click();
      await page.getByText('E2E servo 3 hot').first().waitFor();

      await page.goto('/alerts/channels');
      await page.getByRole('button', { name: /New channel/ }).click();
      const channel = page.getByRole('dialog');
      await channel.getByLabel('Name').fill('E2E hook');
      await channel.getByLabel('URL').fill(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`);
      await channel.getByRole('button', { name: 'Create channel' }).click();
      await page.getByRole('button', { name: 'Send a test to E2E hook' }).click();
      await page.getByText(/^Test sent \(HTTP 200\)/).waitFor();
      expect(received.map((b) => JSON.parse(b).event)).toEqual(['notification.test']);

      await page.goto('/audit');
      await page.getByTestId('audit-row').first().waitFor();
      const audit = await page.getByRole('table').textContent();
      expect(audit).toContain('notification_channel.create');
      expect(audit).toMatch(/alert_rule\.create/);
      expect(problems).toEqual([]);
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
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
