import type { Browser, Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type FakeGrafana, startFakeGrafana } from './fake-grafana';
import { type AppPage, launchBrowser, openApp, seriousViolations, signInAt, startAppServer } from './helpers';

/**
 * Grafana panels in the web app (issue #9 §5), in Chromium against the real server with GRAFANA_URL pointing
 * at a stand-in Grafana on 127.0.0.1 (another origin than the app's): the frames load under the app's CSP
 * (frame-src), ask for the robot, the range and the theme, and follow a theme switch.
 */
describe('web app: Grafana panels on the robot page', () => {
  let server: TestServer;
  let grafana: FakeGrafana;
  let browser: Browser;
  const opened: AppPage[] = [];
  const ROBOT = 'tonypi_sim_01';

  async function app(opts: Parameters<typeof openApp>[2] = {}) {
    const a = await openApp(browser, server, opts);
    opened.push(a);
    return a;
  }

  beforeAll(async () => {
    grafana = await startFakeGrafana();
    [server, browser] = await Promise.all([startAppServer({ GRAFANA_URL: grafana.url }), launchBrowser()]);
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
    await grafana?.close();
  });

  /** The loaded frame of one panel (by its id), once its document is the stand-in's. */
  async function panelFrame(a: AppPage, panelId: number): Promise<Frame> {
    let found: Frame | undefined;
    await expect
      .poll(
        async () => {
          found = a.page
            .frames()
            .find(
              (f) =>
                f.url().includes('/d-solo/') &&
                new URL(f.url()).searchParams.get('panelId') === String(panelId),
            );
          return found
            ? await found
                .locator('body')
                .getAttribute('data-theme')
                .catch(() => null)
            : null;
        },
        { timeout: 15_000 },
      )
      .not.toBeNull();
    return found!;
  }

  const panelRequests = (panelId: number) =>
    grafana.requests.filter(
      (r) => r.pathname.startsWith('/d-solo/') && r.searchParams.get('panelId') === String(panelId),
    );

  for (const theme of ['light', 'dark'] as const) {
    it(`loads the robot dashboard's panels for the robot in the ${theme} theme, with no CSP violation`, async () => {
      const a = await app({ colorScheme: theme });
      const before = grafana.requests.length;
      await signInAt(a, `/robots/${ROBOT}?tab=grafana&range=24h`);
      const { page, problems } = a;
      await page.getByRole('tab', { name: 'Grafana', selected: true }).waitFor();
      const frame = await panelFrame(a, 2);
      const url = new URL(frame.url());
      expect(`${url.origin}${url.pathname}`).toBe(`${grafana.url}/d-solo/tonypi-robot/tonypi-robot`);
      expect(await frame.locator('body').getAttribute('data-theme')).toBe(theme);
      // What reached Grafana: the robot, the tab's window, the theme, no chrome.
      const asked = panelRequests(2).slice(-1)[0]!;
      expect(grafana.requests.indexOf(asked)).toBeGreaterThanOrEqual(before);
      expect(Object.fromEntries(asked.searchParams)).toEqual({
        orgId: '1',
        'var-robot_id': ROBOT,
        panelId: '2',
        from: 'now-24h',
        to: 'now',
        theme,
        kiosk: '',
      });
      // The frames have names, and the link opens the whole dashboard for the robot.
      await page.getByTitle(`Grafana: Battery of ${ROBOT}`).first().waitFor();
      const href = await page.getByRole('link', { name: /Open in Grafana/ }).getAttribute('href');
      expect(href).toBe(
        `${grafana.url}/d/tonypi-robot/tonypi-robot?orgId=1&var-robot_id=${ROBOT}&from=now-24h&to=now&theme=${theme}`,
      );
      // Lazy: a panel far down loads once scrolled to.
      await page.getByTitle(`Grafana: Light level of ${ROBOT}`).scrollIntoViewIfNeeded();
      await panelFrame(a, 23);
      expect(problems).toEqual([]);
    });
  }

  it('redraws the panels in the theme the user switches to', async () => {
    const a = await app({ colorScheme: 'light' });
    await signInAt(a, `/robots/${ROBOT}?tab=grafana`);
    const { page, problems } = a;
    expect(await (await panelFrame(a, 2)).locator('body').getAttribute('data-theme')).toBe('light');
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitemradio', { name: 'Dark' }).click();
    await expect
      .poll(async () => (await panelFrame(a, 2)).locator('body').getAttribute('data-theme'), {
        timeout: 15_000,
      })
      .toBe('dark');
    expect(panelRequests(2).slice(-1)[0]!.searchParams.get('theme')).toBe('dark');
    expect(problems).toEqual([]);
  });

  it('has no serious accessibility violation on the Grafana tab', async () => {
    // axe is injected as an inline script, which the app's CSP refuses: this page only runs without it.
    const a = await app({ bypassCSP: true });
    await signInAt(a, `/robots/${ROBOT}?tab=grafana`);
    await panelFrame(a, 2);
    expect(await seriousViolations(a.page)).toEqual([]);
  });

  it('links the fleet overview to the fleet dashboard', async () => {
    const a = await app();
    await signInAt(a, '/');
    const link = a.page.getByRole('link', { name: /Fleet dashboard in Grafana/ });
    expect(await link.getAttribute('href')).toBe(
      `${grafana.url}/d/tonypi-fleet/tonypi-fleet?orgId=1&theme=light`,
    );
    expect(a.problems).toEqual([]);
  });
});

describe('web app: no Grafana without GRAFANA_URL', () => {
  let server: TestServer;
  let browser: Browser;
  let a: AppPage | undefined;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startAppServer({ SIMULATED_ROBOTS: '1' }), launchBrowser()]);
  });
  afterAll(async () => {
    await a?.context.close();
    await browser?.close();
    await server?.close();
  });

  it('shows no Grafana tab, frame or link, even for a link to the tab', async () => {
    a = await openApp(browser, server);
    await signInAt(a, '/robots/tonypi_sim_01?tab=grafana');
    const { page, problems } = a;
    await page.getByRole('tab', { name: 'Monitoring', selected: true }).waitFor();
    expect(await page.getByRole('tab', { name: 'Grafana' }).count()).toBe(0);
    expect(await page.locator('iframe').count()).toBe(0);
    await page.goto('/');
    await page.locator('[data-testid^=robot-card-]').first().waitFor();
    expect(await page.getByText(/Grafana/).count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
