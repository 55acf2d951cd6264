import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeSshServer,
  SSH_PASSWORD,
  SSH_USER,
  startFakeSshServer,
} from '../packages/server/test/helpers/ssh-server';
import type { TestServer } from '../packages/server/test/helpers/test-server';
import {
  type AppPage,
  createUser,
  launchBrowser,
  openApp,
  seriousViolations,
  signInAt,
  startAppServer,
} from './helpers';

/**
 * The robot page's Terminal tab in Chromium: settings entered in the form, a shell through the server to an
 * in-process SSH server (xterm.js under the app's content security policy), the full-window view, a changed
 * host key, and who sees the tab.
 */
describe('web app: terminal', () => {
  let server: TestServer;
  let browser: Browser;
  let sshd: FakeSshServer;
  const opened: AppPage[] = [];

  async function app(opts: Parameters<typeof openApp>[2] = {}) {
    const a = await openApp(browser, server, opts);
    opened.push(a);
    return a;
  }

  beforeAll(async () => {
    [server, browser, sshd] = await Promise.all([startAppServer(), launchBrowser(), startFakeSshServer()]);
  });
  afterAll(async () => {
    for (const a of opened) await a.context.close();
    await browser?.close();
    await server?.close();
    await sshd?.close();
  });

  /** The terminal's screen as text (xterm's DOM renderer: one element per row). */
  const screen = async (page: Page) =>
    (await page.locator('[data-testid=terminal] .xterm-rows').textContent()) ?? '';

  it('takes SSH settings in the form, opens a shell, types into it and shows the pinned host key', async () => {
    const a = await app();
    await signInAt(a, '/robots/tonypi_sim_01?tab=terminal');
    const { page, problems } = a;
    await page.getByText('This robot has no SSH settings yet').waitFor();
    await page.getByLabel('Host').fill('127.0.0.1');
    await page.getByLabel('Port').fill(String(sshd.port));
    await page.getByLabel('Username').fill(SSH_USER);
    await page.getByLabel(/^Password/).fill('not-the-password');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('ssh-target').waitFor();
    expect(await page.getByTestId('ssh-target').textContent()).toContain(
      `${SSH_USER}@127.0.0.1:${sshd.port}`,
    );

    // A wrong password: the test says so in words.
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.getByTestId('ssh-test-result').textContent()).toContain('refused the login');

    await page.getByRole('button', { name: 'Edit settings' }).click();
    await page.getByLabel(/^Password/).fill(SSH_PASSWORD);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(() => page.getByTestId('ssh-test-result').textContent())
      .toContain('Signed in to 127.0.0.1');
    // The settings are read again after the test: the pinned key shows once they are back.
    await expect.poll(() => page.getByTestId('ssh-host-key').textContent()).toContain(sshd.fingerprint);

    await page.getByRole('button', { name: 'Open terminal' }).click();
    await page.locator('[data-testid=terminal-status][data-state=connected]').waitFor({ timeout: 15_000 });
    await expect.poll(() => screen(page)).toContain('welcome to the fake robot');
    await page.locator('[data-testid=terminal] textarea').focus();
    await page.keyboard.type('echo from the browser');
    await page.keyboard.press('Enter');
    await expect.poll(() => screen(page)).toContain('echo from the browser');
    await page.keyboard.type('utf8');
    await page.keyboard.press('Enter');
    await expect.poll(() => screen(page)).toContain('héllo → ✓');
    // Its size follows the box: the PTY is as wide as the terminal shows.
    await page.keyboard.type('size');
    await page.keyboard.press('Enter');
    await expect.poll(() => screen(page)).toMatch(/\d{2,3}x\d{2}/);

    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('terminal-message').textContent()).toContain('The shell exited');
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await page.locator('[data-testid=terminal-status][data-state=connected]').waitFor({ timeout: 15_000 });

    // The admin sees the sessions.
    await expect
      .poll(() => page.getByTestId('ssh-session').count(), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    // xterm's own style elements pass the content security policy (a refusal is a console error). The one
    // error expected: the browser's note of the wrong password's 502, which the test asked for.
    expect(problems.filter((p) => !p.includes('status of 502'))).toEqual([]);
    expect(problems.filter((p) => p.includes('status of 502'))).toHaveLength(1);
  });

  it('opens a terminal in a window of its own, which follows the window size', async () => {
    await server.api('/api/v1/robots/tonypi_sim_02/ssh', {
      method: 'PUT',
      json: { host: '127.0.0.1', port: sshd.port, username: SSH_USER, password: SSH_PASSWORD },
    });
    const a = await app({ width: 900, height: 600, colorScheme: 'dark' });
    await signInAt(a, '/');
    const { page, problems } = a;
    await page.goto('/robots/tonypi_sim_02/terminal');
    await page.locator('[data-testid=terminal-status][data-state=connected]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid=terminal] textarea').focus();
    await page.keyboard.type('size');
    await page.keyboard.press('Enter');
    await expect.poll(() => screen(page)).toMatch(/\d+x\d+/);
    const before = /(\d+)x(\d+)/.exec(await screen(page));
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForTimeout(300); // the resize observer fits the terminal
    await page.keyboard.type('size');
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => [...(await screen(page)).matchAll(/(\d+)x(\d+)/g)].length)
      .toBeGreaterThanOrEqual(2);
    const sizes = [...(await screen(page)).matchAll(/(\d+)x(\d+)/g)];
    const after = sizes[sizes.length - 1];
    expect(Number(after?.[1])).toBeGreaterThan(Number(before?.[1]));
    expect(Number(after?.[2])).toBeGreaterThan(Number(before?.[2]));
    expect(problems).toEqual([]);
  });

  it('shows a changed host key as a refusal with both fingerprints', async () => {
    const other = await startFakeSshServer();
    try {
      await server.api('/api/v1/robots/tonypi_sim_03/ssh', {
        method: 'PUT',
        json: { host: '127.0.0.1', port: other.port, username: SSH_USER, password: SSH_PASSWORD },
      });
      expect((await server.api('/api/v1/robots/tonypi_sim_03/ssh/test', { method: 'POST' })).status).toBe(
        200,
      );
      await other.rotateHostKey();
      const a = await app({ width: 390, height: 844 });
      await signInAt(a, '/robots/tonypi_sim_03?tab=terminal');
      const { page } = a;
      await page.getByRole('button', { name: 'Open terminal' }).click();
      await expect
        .poll(() => page.getByTestId('terminal-message').textContent(), { timeout: 15_000 })
        .toContain('host key');
      const message = (await page.getByTestId('terminal-message').textContent()) ?? '';
      expect(message).toContain(other.fingerprint);
      // The admin re-trusts it from the page.
      await page.getByRole('button', { name: 'Re-trust host key' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Re-trust' }).click();
      await expect.poll(() => page.getByTestId('ssh-host-key').textContent()).toContain('none yet');
      await page.getByRole('button', { name: 'Reconnect' }).click();
      await page.locator('[data-testid=terminal-status][data-state=connected]').waitFor({ timeout: 15_000 });
    } finally {
      await other.close();
    }
  });

  it('gives operators the tab and viewers none', async () => {
    await createUser(server, 'term_viewer', 'viewer', 'term-viewer-password');
    await createUser(server, 'term_operator', 'operator', 'term-operator-password');
    const v = await app();
    await signInAt(v, '/robots/tonypi_sim_01', 'term_viewer', 'term-viewer-password');
    await v.page.getByRole('tab', { name: 'Monitoring' }).waitFor();
    expect(await v.page.getByRole('tab', { name: 'Terminal' }).count()).toBe(0);
    await v.page.goto('/robots/tonypi_sim_01/terminal');
    await v.page.getByText('Your role cannot open terminals').waitFor();

    // axe injects a script: this context runs without the content security policy.
    const o = await app({ bypassCSP: true });
    await signInAt(o, '/robots/tonypi_sim_01?tab=terminal', 'term_operator', 'term-operator-password');
    await o.page.getByTestId('ssh-target').waitFor();
    // Re-trusting is an admin's call; sessions are the admins' to read.
    expect(await o.page.getByRole('button', { name: 'Re-trust host key' }).count()).toBe(0);
    expect(await o.page.getByRole('heading', { name: 'Sessions' }).count()).toBe(0);
    await o.page.getByRole('button', { name: 'Open terminal' }).click();
    await o.page.locator('[data-testid=terminal-status][data-state=connected]').waitFor({ timeout: 15_000 });
    expect(await seriousViolations(o.page)).toEqual([]);
  });
});
