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

/**
 * The admin pages in Chromium against the real server: registering a robot (its secret shown once),
 * creating a user who then signs in (as an operator, without the admin pages), and the accessibility of
 * Robots, Users, API keys and Audit in both themes.
 */
describe('web app: robots, users, API keys, audit', () => {
  let server: TestServer;
  let browser: Browser;
  const opened: AppPage[] = [];

  async function app(opts: Parameters<typeof openApp>[2] = {}) {
    const a = await openApp(browser, server, opts);
    // A step that cannot happen fails with what it waited for, well inside the test's time.
    a.page.setDefaultTimeout(15_000);
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

  it('registers a robot and shows its credentials once, which then work on the API', async () => {
    const a = await app();
    await signInAt(a, '/robots');
    const { page } = a;
    await page.getByTestId('robot-row-tonypi_sim_01').waitFor();
    await page.getByRole('button', { name: 'Register a robot' }).click();
    await page.getByLabel('Robot id').fill('cart_7');
    await page.getByLabel('Name (optional)').fill('Cart 7');
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    const secret = (await page.getByTestId('robot-secret').textContent()) ?? '';
    expect(secret).toMatch(/^tpr_/);
    expect(await page.getByTestId('agent-command').textContent()).toContain(
      `--username cart_7 --password ${secret}`,
    );
    await page.getByRole('button', { name: 'I have stored the password' }).click();
    await page.getByTestId('robot-row-cart_7').waitFor();
    expect(await page.content()).not.toContain(secret);
    // The server knows it with credentials; a refresh keeps the page and never shows the secret again.
    const robot = (await (await server.api('/api/v1/robots/cart_7')).json()) as { has_credentials: boolean };
    expect(robot.has_credentials).toBe(true);
    await page.reload();
    await page.getByTestId('robot-row-cart_7').waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(a.problems).toEqual([]);
  }, 60_000);

  it('creates a user whose temporary password signs them in; as an operator they see no admin page', async () => {
    const admin = await app();
    await signInAt(admin, '/users');
    const { page } = admin;
    await page.getByRole('button', { name: 'Create a user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a user' });
    await dialog.getByLabel('Username').fill('olga');
    await dialog.getByLabel('E-mail').fill('olga@example.com');
    await dialog.getByLabel('Role').selectOption('operator');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const temporary = (await page.getByTestId('temporary-password').textContent()) ?? '';
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('user-row-olga').waitFor();
    expect(admin.problems).toEqual([]);

    const olga = await app();
    await olga.page.goto('/');
    await signIn(olga.page, 'olga', temporary);
    await expect.poll(() => new URL(olga.page.url()).pathname).toBe('/account/password');
    await olga.page.getByLabel('Current password').fill(temporary);
    await olga.page.getByLabel('New password', { exact: true }).fill('olgas-own-password-1');
    await olga.page.getByLabel('New password again').fill('olgas-own-password-1');
    await olga.page.getByRole('button', { name: 'Change password' }).click();
    // The menu is on the password page too: wait for the change itself (its answer ends the forced change),
    // or the next page load races it and is sent back to /account/password.
    await olga.page.getByText('Password changed').waitFor();
    await expect.poll(() => new URL(olga.page.url()).pathname).not.toBe('/account/password');
    const nav = olga.page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Robots' }).waitFor();
    for (const hidden of ['Users', 'API keys', 'Audit'])
      expect(await nav.getByRole('link', { name: hidden }).count()).toBe(0);
    // A typed URL says plainly that the page is not hers, and asks the API nothing it would refuse.
    await olga.page.goto('/users');
    await olga.page.getByText('Only an admin may manage users').waitFor();
    await olga.page.goto('/robots');
    await olga.page.getByTestId('robot-row-tonypi_sim_01').waitFor();
    expect(await olga.page.getByRole('button', { name: 'Register a robot' }).count()).toBe(0);
    expect(olga.problems).toEqual([]);
  }, 60_000);

  for (const scheme of ['light', 'dark'] as const) {
    it(`has no serious accessibility violation on the admin pages (${scheme})`, async () => {
      const a = await app({ bypassCSP: true, colorScheme: scheme });
      await signInAt(a, '/robots');
      const found: Record<string, string[]> = {};
      await a.page.getByTestId('robot-row-tonypi_sim_01').waitFor();
      found.robots = await seriousViolations(a.page);
      await a.page.getByRole('button', { name: 'Register a robot' }).click();
      await a.page.getByLabel('Robot id').waitFor();
      found.register = await seriousViolations(a.page);
      await a.page.keyboard.press('Escape');
      await a.page.goto('/users');
      await a.page.getByTestId('user-row-admin').waitFor();
      found.users = await seriousViolations(a.page);
      await a.page.goto('/api-keys');
      await a.page.getByRole('heading', { name: 'API keys' }).waitFor();
      await a.page.getByText('No API keys yet').waitFor();
      found['api-keys'] = await seriousViolations(a.page);
      await a.page.goto('/audit');
      await a.page.getByTestId('audit-row').first().waitFor();
      found.audit = await seriousViolations(a.page);
      expect(found).toEqual({ robots: [], register: [], users: [], 'api-keys': [], audit: [] });
      expect(a.problems).toEqual([]);
    }, 90_000);
  }
});
