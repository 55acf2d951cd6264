import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import { type AppPage, launchBrowser, openApp, seriousViolations, signInAt, startAppServer } from './helpers';

/**
 * The robot page's Servos, Sensors, Commands and Settings tabs in Chromium against the real server and its
 * simulated robots (which execute commands: packages/agent/src/command-executor.ts).
 */
describe('web app: robot page tabs', () => {
  let server: TestServer;
  let browser: Browser;
  const opened: AppPage[] = [];

  async function app(opts: Parameters<typeof openApp>[2] = {}) {
    const a = await openApp(browser, server, opts);
    opened.push(a);
    return a;
  }

  // No simulated link drops: a command sent here must find its robot connected until it answers.
  beforeAll(async () => {
    [server, browser] = await Promise.all([startAppServer({ SIMULATED_FAULTS: 'false' }), launchBrowser()]);
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
  });

  const text = (page: Page, testId: string) => page.getByTestId(testId).textContent();

  it('shows every servo of a simulated robot with live values, and its history on click', async () => {
    const a = await app();
    await signInAt(a, '/robots/tonypi_sim_01?tab=servos');
    const { page, problems } = a;
    await page.getByTestId('servo-row-1').waitFor();
    for (const id of ['1', '2', '3', '4', '5', '6']) await page.getByTestId(`figure-servo-${id}`).waitFor();
    await expect.poll(() => text(page, 'servo-1-temperature_c')).toMatch(/\d/);
    const first = await text(page, 'servo-1-voltage_v');
    // The simulator's values move: some servo field changes within a few seconds.
    const snapshot = () =>
      page
        .locator('[data-testid^="servo-"][data-state]')
        .evaluateAll((els) => els.map((e) => e.textContent).join('|'));
    const before = await snapshot();
    await expect.poll(snapshot, { timeout: 15_000 }).not.toBe(before);
    expect(first).toMatch(/V/);
    await page.getByTestId('figure-servo-2').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('servo')).toBe('2');
    await page.getByRole('heading', { name: /Servo 2 · Left Knee: history/ }).waitFor();
    expect(problems).toEqual([]);
  });

  it('sends a command to a simulated robot and shows its result as it arrives', async () => {
    const a = await app();
    await signInAt(a, '/robots/tonypi_sim_02?tab=commands');
    const { page, problems } = a;
    await page.getByText('No command sent to this robot yet').waitFor();
    // Checked before sending: nothing goes out with a bad value.
    await page.getByLabel('Distance (m)').fill('20');
    await page.getByRole('button', { name: /Send move/ }).click();
    await page.getByText('Distance (m): at most 10').waitFor();
    await page.getByLabel('Command', { exact: true }).selectOption('head_nod');
    await page.getByRole('button', { name: /Send nod the head/ }).click();
    const row = page.locator('[data-testid^="command-"]').filter({ hasText: 'head_nod' });
    await row.waitFor();
    await row.getByText('succeeded').waitFor({ timeout: 20_000 });
    expect(problems).toEqual([]);
  });

  it("shows a simulated robot's channels and a message it got refused on the Diagnostics tab", async () => {
    const a = await app();
    // A malformed message on the robot's topic, as a broken client would send it.
    server.server.pipeline.handle('tonypi/tonypi_sim_01/sensors', Buffer.from('{"roll_deg": <script>'));
    await signInAt(a, '/robots/tonypi_sim_01?tab=diagnostics');
    const { page, problems } = a;
    // The simulator sends its readings as one bundle per tick (protocol §4.2), its status and job apart.
    await page.getByTestId('channel-telemetry').waitFor();
    await expect.poll(() => text(page, 'channel-telemetry')).toMatch(/\/s/);
    const rejected = page.getByTestId('rejected-row').first();
    await rejected.waitFor();
    expect(await rejected.textContent()).toContain('{"roll_deg": <script>');
    expect(await text(page, 'rejected-last-hour')).toBe('1');
    expect(problems).toEqual([]);
  });

  it('rotates a robot’s credentials and shows them once with the agent command line', async () => {
    const a = await app();
    await signInAt(a, '/robots/tonypi_sim_03?tab=settings');
    const { page, problems } = a;
    await page.getByRole('button', { name: 'Rotate credentials' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    const password = await page.getByTestId('mqtt-password').textContent();
    expect(password).toMatch(/^tpr_/);
    const command = await text(page, 'agent-command');
    expect(command).toContain('--username tonypi_sim_03');
    expect(command).toContain(password);
    await page.getByLabel('Name').fill('Shelf picker 3');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /Shelf picker 3/ }).waitFor();
    expect(problems).toEqual([]);
  });

  it.each(['light', 'dark'] as const)(
    'has no serious accessibility violation on any tab (%s)',
    async (colorScheme) => {
      const a = await app({ colorScheme, width: colorScheme === 'dark' ? 390 : 1280, bypassCSP: true });
      await signInAt(a, '/robots/tonypi_sim_01?tab=servos');
      const { page, problems } = a;
      const ready: Record<string, () => Promise<unknown>> = {
        servos: () => page.getByTestId('servo-row-1').waitFor(),
        sensors: () => page.getByTestId('live-sensors-roll_deg').waitFor(),
        commands: () => page.getByLabel('Command', { exact: true }).waitFor(),
        settings: () => page.getByLabel('Description').waitFor(),
        diagnostics: () => page.getByTestId('channel-telemetry').waitFor(),
      };
      for (const [tab, wait] of Object.entries(ready)) {
        await page.getByRole('tab', { name: new RegExp(tab, 'i') }).click();
        await wait();
        expect([tab, await seriousViolations(page)]).toEqual([tab, []]);
      }
      expect(problems).toEqual([]);
    },
  );
});
