import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type AppPage, launchBrowser, openApp, seriousViolations, signInAt, startAppServer } from './helpers';

/**
 * The robot page's Camera tab in Chromium against the real server: a simulated robot's synthetic camera,
 * proxied by the server and decoded by the browser's own JPEG decoder.
 */
describe('web app: the Camera tab', () => {
  let server: TestServer;
  let browser: Browser;
  const opened: AppPage[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startAppServer(), launchBrowser()]);
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
  });

  it("shows a simulated robot's live camera with its frame rate and resolution, and keeps a snapshot", async () => {
    const a = await openApp(browser, server);
    opened.push(a);
    await signInAt(a, '/robots/tonypi_sim_01?tab=camera');
    const { page, problems } = a;
    const live = page.getByAltText(/Live camera of/);
    await live.waitFor();
    // Decoded by Chromium: the frames the simulator splices from pre-encoded bands are valid JPEGs.
    await expect
      .poll(
        () =>
          live.evaluate((el) => {
            const img = el as unknown as { naturalWidth: number; naturalHeight: number };
            return `${img.naturalWidth}×${img.naturalHeight}`;
          }),
        {
          timeout: 15_000,
        },
      )
      .toBe('640×480');
    await expect
      .poll(() => page.getByTestId('camera-resolution').textContent(), { timeout: 10_000 })
      .toBe('640 × 480');
    await expect
      .poll(() => page.getByTestId('camera-fps').textContent(), { timeout: 10_000 })
      .toMatch(/1\d(\.\d)? fps/);
    await page.getByRole('button', { name: /Take snapshot/ }).click();
    const snap = page.getByTestId('camera-snapshot').first().locator('img');
    await snap.waitFor();
    await expect
      .poll(() => snap.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), {
        timeout: 10_000,
      })
      .toBe(640);
    expect(problems).toEqual([]);
  });

  it('takes a snapshot for an alert from the alert list, and shows it with the alert', async () => {
    const raised = await server.api('/api/v1/alerts', {
      method: 'POST',
      json: {
        robot_id: 'tonypi_sim_03',
        severity: 'warning',
        title: 'Arm blocked',
        message: 'seen by the line lead',
      },
    });
    expect(raised.status).toBe(201);
    const alert = (await raised.json()) as { id: number };
    const a = await openApp(browser, server);
    opened.push(a);
    await signInAt(a, '/alerts');
    const { page, problems } = a;
    const row = page.getByTestId(`alert-${alert.id}`);
    await row.getByRole('link', { name: 'Take a camera snapshot' }).click();
    await page.getByAltText(/Live camera of/).waitFor();
    await expect
      .poll(() => page.getByLabel('Alert the snapshot documents (optional)').inputValue())
      .toBe(String(alert.id));
    await page.getByRole('button', { name: /Take snapshot/ }).click();
    await page.getByTestId('camera-snapshot').first().waitFor();
    await page.goBack();
    const thumb = page.getByTestId(`alert-${alert.id}`).getByRole('img');
    await thumb.waitFor();
    await expect
      .poll(() => thumb.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), {
        timeout: 10_000,
      })
      .toBe(640);
    expect(problems).toEqual([]);
  });

  it.each(['light', 'dark'] as const)('has no serious accessibility violation (%s)', async (colorScheme) => {
    const a = await openApp(browser, server, { colorScheme, bypassCSP: true });
    opened.push(a);
    await signInAt(a, '/robots/tonypi_sim_02?tab=camera');
    await a.page.getByAltText(/Live camera of/).waitFor();
    await a.page
      .getByText(/Snapshots/)
      .first()
      .waitFor();
    expect(await seriousViolations(a.page)).toEqual([]);
    expect(a.problems).toEqual([]);
  });
});
