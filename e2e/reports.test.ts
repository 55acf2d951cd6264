import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type AppPage, launchBrowser, openApp, seriousViolations, signInAt, startAppServer } from './helpers';

/**
 * The Reports page in Chromium against the real server and its simulated robots: a report asked for in the
 * form, its progress followed live to completed, read in the app, its PDF downloaded.
 */
describe('web app: reports', () => {
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

  it('asks for a fleet summary, follows it to completed, reads it and downloads its PDF', async () => {
    const a = await app();
    await signInAt(a, '/reports');
    const { page, problems } = a;
    await page.getByText('No report yet').waitFor();
    await page.getByRole('button', { name: /New report/ }).click();
    await page.getByLabel('Kind').selectOption('fleet_summary');
    await page.getByLabel('Period').selectOption('24h');
    await page.getByRole('button', { name: 'Generate' }).click();
    const status = page.locator('[data-testid^=report-status-]').first();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 30_000 }).toBe('completed');

    await page.getByRole('link', { name: /Fleet summary: the fleet/ }).click();
    await page.getByRole('heading', { name: 'Summary', exact: true }).waitFor();
    for (const key of ['availability', 'performance', 'battery', 'servos', 'jobs', 'alerts', 'anomalies'])
      await page.getByTestId(`report-section-${key}`).waitFor();
    expect(await page.getByText('tonypi_sim_01', { exact: false }).count()).toBeGreaterThan(0);

    const href = await page.getByRole('link', { name: 'PDF' }).getAttribute('href');
    expect(href).toMatch(/^\/api\/v1\/reports\/\d+\/pdf$/);
    const pdf = await page.request.get(href ?? '');
    expect(pdf.status()).toBe(200);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
    expect(problems).toEqual([]);
  });

  it('schedules a daily report, runs it now, and finds its run in the schedule’s history', async () => {
    const a = await app();
    await signInAt(a, '/reports');
    const { page, problems } = a;
    await page.getByText('No schedule yet').waitFor();
    await page.getByRole('button', { name: /New schedule/ }).click();
    const form = page.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Name').fill('Daily tonypi_sim_01');
    await form.getByLabel('Kind').selectOption('performance');
    await form.getByLabel('Scope').selectOption('robot');
    await form.getByLabel('Robot').selectOption('tonypi_sim_01');
    await form.getByLabel('Every').selectOption('daily');
    await form.getByLabel(/^At/).fill('05:45');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    const row = page.locator('[data-testid^=schedule-row-]').first();
    await row.getByText(/Every day at 05:45/).waitFor();
    await row.getByRole('button', { name: /^Run now/ }).click();
    await page
      .getByText(/Report \d+ is being generated/)
      .first()
      .waitFor();
    await row.getByRole('button', { name: /History of/ }).click();
    await page.getByText('Runs of “Daily tonypi_sim_01”').waitFor();
    const status = page.locator('[data-testid^=report-status-]');
    await expect.poll(() => status.count()).toBe(1);
    await expect
      .poll(() => status.first().getAttribute('data-status'), { timeout: 30_000 })
      .toBe('completed');
    await page.getByRole('link', { name: /^Daily tonypi_sim_01: \d{4}-\d{2}-\d{2}$/ }).waitFor();
    expect(problems).toEqual([]);
  });

  it('reads a report at phone width in the dark, with no serious accessibility violation', async () => {
    const res = await server.api('/api/v1/reports', {
      method: 'POST',
      json: { kind: 'performance', robot_id: 'tonypi_sim_02', from: '1h' },
    });
    const { report_id } = await res.json();
    // axe injects a script: this context runs without the content security policy.
    const a = await app({ width: 390, height: 844, colorScheme: 'dark', bypassCSP: true });
    await signInAt(a, `/reports/${report_id}`);
    await a.page.getByTestId('report-section-performance').waitFor({ timeout: 30_000 });
    expect(await seriousViolations(a.page)).toEqual([]);
    await a.page.goto('/reports');
    await a.page.locator(`[data-testid=report-row-${report_id}]`).waitFor();
    expect(await seriousViolations(a.page)).toEqual([]);
  });
});
