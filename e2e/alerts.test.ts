import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import {
  type AppPage,
  launchBrowser,
  openApp,
  seriousViolations,
  signIn,
  signInAt,
  startAppServer,
} from './helpers';

const ROBOT = 'tonypi_sim_01';

/**
 * The alert pages in Chromium against the real server and simulated robots: a rule the robot's normal CPU
 * load breaks raises an alert, which the header links to, the list shows live and an operator acknowledges;
 * and no console errors or serious accessibility violations on the alert pages, light and dark.
 */
describe('web app: alerts', () => {
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

  it('raises an alert for a fault of a simulated robot and acknowledges it in the list', async () => {
    const a = await app();
    await signInAt(a, `/alerts?state=open&robot=${ROBOT}`);
    const { page, problems } = a;
    await page.getByText('No alert matches these filters').waitFor({ timeout: 20_000 });
    // Any CPU load above 1 % is a "fault": the simulated robot's normal values break this rule at once.
    const res = await server.api('/api/v1/alert-rules', {
      method: 'POST',
      json: {
        robot_id: ROBOT,
        name: 'E2E CPU above 1',
        measurement: 'system',
        field: 'cpu_percent',
        direction: 'above',
        warning_level: 1,
        sustained_s: 0,
      },
    });
    expect(res.status).toBe(201);
    // Arrives live: the page is not reloaded.
    const row = page.locator('[data-testid^=alert-]').filter({ hasText: 'E2E CPU above 1' }).first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('alert-state').textContent()).toBe('Open');
    await expect.poll(() => page.getByTestId('open-alerts').textContent()).not.toBe('0open alerts');

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByLabel('Note (optional)').fill('looking at the CPU');
    await page.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => row.getByTestId('alert-state').textContent()).toBe('Acknowledged');
    await expect.poll(() => row.textContent()).toContain('looking at the CPU');
    const id = Number((await row.getAttribute('data-testid'))?.replace('alert-', ''));
    const stored = (await (await server.api(`/api/v1/alerts/${id}`)).json()) as {
      state: string;
      acknowledged_by: string;
      acknowledge_note: string;
    };
    expect(stored).toMatchObject({
      state: 'acknowledged',
      acknowledged_by: 'admin',
      acknowledge_note: 'looking at the CPU',
    });

    // The header's count links to the open alerts.
    await page.goto('/');
    await page.getByTestId('open-alerts').click();
    await expect
      .poll(() => `${new URL(page.url()).pathname}${new URL(page.url()).search}`)
      .toBe('/alerts?state=open');
    expect(problems).toEqual([]);
  }, 60_000);

  for (const scheme of ['light', 'dark'] as const) {
    it(`has no serious accessibility violation on the alert pages (${scheme})`, async () => {
      const a = await app({ bypassCSP: true, colorScheme: scheme });
      await a.page.goto('/alerts');
      await signIn(a.page);
      await a.page
        .locator('[data-testid=alert-total]')
        .filter({ hasText: 'matching' })
        .waitFor({ timeout: 20_000 });
      const found: Record<string, string[]> = { alerts: await seriousViolations(a.page) };
      await a.page.goto('/alerts/rules');
      await a.page.getByRole('heading', { name: 'Global rules' }).waitFor({ timeout: 20_000 });
      await a.page.getByRole('button', { name: 'New rule' }).click();
      await a.page.getByRole('dialog').waitFor({ timeout: 20_000 });
      // The rules page behind the open form is scanned with it.
      found['rule-form'] = await seriousViolations(a.page);
      await a.page.goto('/alerts/channels');
      await a.page.getByText('No notification channels').waitFor({ timeout: 20_000 });
      found.channels = await seriousViolations(a.page);
      await a.page.goto(`/robots/${ROBOT}?tab=alerts`);
      await a.page
        .locator('[data-testid=alert-total]')
        .filter({ hasText: 'matching' })
        .waitFor({ timeout: 20_000 });
      found['robot-alerts'] = await seriousViolations(a.page);
      expect(found).toEqual({ alerts: [], 'rule-form': [], channels: [], 'robot-alerts': [] });
      expect(a.problems).toEqual([]);
    }, 150_000);
  }
});
