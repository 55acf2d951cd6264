import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import {
  type AppPage,
  createUser,
  launchBrowser,
  openApp,
  seriousViolations,
  signIn,
  signInAt,
  startAppServer,
} from './helpers';

/**
 * The operator's console in Chromium against the real server and three simulated robots: sign-in, the
 * fleet overview's live values, a robot's charts, the fleet emergency stop and resume, roles, the
 * System page, and no console errors or serious accessibility violations on any of them.
 */
describe('web app: sign-in, fleet, robot, system', () => {
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
    await createUser(server, 'vera', 'viewer', 'viewer-password-123');
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
  });

  it('sends a signed-out visitor to sign in, then back to the page asked for', async () => {
    const { page, problems } = await app();
    await page.goto('/system?x=1');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/system?x=1');
    await signIn(page);
    await expect
      .poll(() => `${new URL(page.url()).pathname}${new URL(page.url()).search}`)
      .toBe('/system?x=1');
    await page.getByTestId('health-status').waitFor();
    expect(problems).toEqual([]);
  });

  it('says "wrong username or password" for bad credentials, and "cannot be reached" when the server is gone', async () => {
    const { page } = await app();
    await page.goto('/sign-in');
    await signIn(page, 'admin', 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong username or password');
    await page.route('**/api/v1/auth/login', (route) => route.abort('connectionrefused'));
    await signIn(page);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('cannot be reached');
  });

  it('shows every robot on the overview with values that change live, without reloading', async () => {
    const a = await app();
    await signInAt(a);
    const { page } = a;
    const cards = page.locator('[data-testid^=robot-card-]');
    await expect.poll(() => cards.count()).toBe(3);
    await expect.poll(() => page.getByTestId('count-online').textContent(), { timeout: 15_000 }).toBe('3');
    const card = page.getByTestId('robot-card-tonypi_sim_01');
    const readings = async () =>
      `${await card.getByTestId('cpu').textContent()}|${await card.getByTestId('battery').textContent()}`;
    // A mark on this document: still there later means the page never reloaded.
    await page.evaluate(() => {
      (globalThis as { e2eMark?: number }).e2eMark = 1;
    });
    const first = await readings();
    await expect.poll(readings, { timeout: 15_000 }).not.toBe(first);
    expect(await page.evaluate(() => (globalThis as { e2eMark?: number }).e2eMark)).toBe(1);
    expect(a.problems).toEqual([]);
  });

  it('keeps the overview filters in the URL', async () => {
    const a = await app();
    await signInAt(a, '/?q=sim_02');
    const cards = a.page.locator('[data-testid^=robot-card-]');
    await expect.poll(() => cards.count()).toBe(1);
    await a.page.getByLabel('Search robots').fill('nothing-like-this');
    await a.page.getByText('No robot matches these filters').waitFor();
    expect(new URL(a.page.url()).searchParams.get('q')).toBe('nothing-like-this');
    await a.page.getByRole('button', { name: 'Clear the filters' }).click();
    await expect.poll(() => cards.count()).toBe(3);
  });

  it('opens a robot page with its charts, and zooms a chart by dragging across it', async () => {
    const a = await app();
    await signInAt(a);
    const { page } = a;
    await page.getByTestId('robot-card-tonypi_sim_02').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/robots/tonypi_sim_02');
    await page.getByRole('heading', { name: /tonypi_sim_02/ }).waitFor();
    const chart = page.locator('[data-testid=chart]').first();
    await chart.locator('canvas').waitFor();
    await page.getByRole('button', { name: '5 min', exact: true }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('range')).toBe('5m');
    const over = chart.locator('.u-over');
    const box = await over.boundingBox();
    if (!box) throw new Error('no plot area');
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).not.toBeNull();
    const url = new URL(page.url());
    const span = Number(url.searchParams.get('to')) - Number(url.searchParams.get('from'));
    // 40 % of a 5-minute window.
    expect(span).toBeGreaterThan(60_000);
    expect(span).toBeLessThan(180_000);
    expect(url.searchParams.get('range')).toBeNull();
    // A refresh opens the same page, zoomed the same way.
    await page.reload();
    await page.getByRole('heading', { name: /tonypi_sim_02/ }).waitFor();
    expect(new URL(page.url()).searchParams.get('from')).toBe(url.searchParams.get('from'));
    expect(a.problems).toEqual([]);
  });

  it('emergency-stops the fleet after a confirmation, and resumes it', async () => {
    const a = await app();
    await signInAt(a);
    const { page } = a;
    await expect.poll(() => page.getByTestId('count-online').textContent(), { timeout: 15_000 }).toBe('3');
    await page.getByRole('button', { name: 'Emergency stop fleet' }).click();
    const dialog = page.getByRole('dialog', { name: 'Emergency stop the whole fleet?' });
    await dialog.waitFor();
    // Cancel sends nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByTestId('count-emergency_stopped').textContent()).toBe('0');
    await page.getByRole('button', { name: 'Emergency stop fleet' }).click();
    await dialog.getByLabel(/Reason/).fill('e2e: person in the aisle');
    await dialog.getByRole('button', { name: 'Stop now' }).click();
    await expect
      .poll(() => page.getByTestId('count-emergency_stopped').textContent(), { timeout: 10_000 })
      .toBe('3');
    await expect.poll(() => page.getByText('Emergency stopped', { exact: true }).count()).toBe(3);
    const audit = await (await server.api('/api/v1/audit?action=fleet.emergency_stop')).json();
    expect(JSON.stringify(audit)).toContain('e2e: person in the aisle');

    await page.getByRole('button', { name: 'Resume fleet' }).click();
    await page
      .getByRole('dialog', { name: 'Resume the whole fleet?' })
      .getByRole('button', { name: 'Resume' })
      .click();
    await expect
      .poll(() => page.getByTestId('count-emergency_stopped').textContent(), { timeout: 10_000 })
      .toBe('0');
    await expect.poll(() => page.getByTestId('count-online').textContent(), { timeout: 15_000 }).toBe('3');
    expect(a.problems).toEqual([]);
  });

  it('shows a viewer no control: no emergency stop on the overview or a robot page', async () => {
    const a = await app();
    await signInAt(a, '/', 'vera', 'viewer-password-123');
    const { page } = a;
    await expect.poll(() => page.locator('[data-testid^=robot-card-]').count()).toBe(3);
    expect(await page.getByRole('button', { name: /Emergency stop|Resume/ }).count()).toBe(0);
    await page.getByTestId('robot-card-tonypi_sim_01').click();
    await page.locator('[data-testid=chart]').first().waitFor();
    expect(await page.getByRole('button', { name: /Emergency stop|Resume/ }).count()).toBe(0);
    expect(a.problems).toEqual([]);
  });

  it('draws the server health on the System page, with the live ingest rate', async () => {
    const a = await app();
    await signInAt(a, '/system');
    await expect.poll(() => a.page.getByTestId('health-status').textContent()).toContain('All components up');
    await expect
      .poll(() => a.page.getByTestId('ingest-rate').textContent(), { timeout: 10_000 })
      .toMatch(/msg\/s now/);
    expect(a.problems).toEqual([]);
  });

  it('signs out: the session ends and the app returns to sign-in', async () => {
    const a = await app();
    await signInAt(a);
    await a.page.getByRole('button', { name: /Account menu/ }).click();
    await a.page.getByRole('menuitem', { name: 'Sign out' }).click();
    await expect.poll(() => new URL(a.page.url()).pathname).toBe('/sign-in');
    await a.page.goto('/system');
    await expect.poll(() => new URL(a.page.url()).pathname).toBe('/sign-in');
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`has no serious accessibility violation on any page (${scheme})`, async () => {
      const a = await app({ bypassCSP: true, colorScheme: scheme });
      await a.page.goto('/sign-in');
      await a.page.getByLabel('Username').waitFor();
      const found: Record<string, string[]> = { 'sign-in': await seriousViolations(a.page) };
      await signIn(a.page);
      await a.page.locator('[data-testid^=robot-card-]').first().waitFor();
      found.fleet = await seriousViolations(a.page);
      await a.page.goto('/robots/tonypi_sim_01');
      await a.page.locator('[data-testid=chart] canvas').first().waitFor();
      found.robot = await seriousViolations(a.page);
      await a.page.goto('/system');
      await a.page.getByTestId('health-status').waitFor();
      found.system = await seriousViolations(a.page);
      expect(found).toEqual({ 'sign-in': [], fleet: [], robot: [], system: [] });
    }, 150_000);
  }
});
