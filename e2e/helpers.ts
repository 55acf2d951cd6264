import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import {
  ADMIN_PASSWORD,
  startTestServer,
  type TestServer,
} from '../packages/server/test/helpers/test-server';
import { CHROMIUM } from './global-setup';

export { ADMIN_PASSWORD };

/** The flags this machine's headless Chromium runs with. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** The real server with a few simulated robots publishing fast enough for values to change every second. */
export function startAppServer(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer({ SIMULATED_ROBOTS: '3', SIMULATED_RATE_HZ: '4', ...env });
}

export interface AppPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and warnings, and uncaught exceptions, seen so far. */
  problems: string[];
}

export async function openApp(
  browser: Browser,
  server: TestServer,
  opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark'; bypassCSP?: boolean } = {},
): Promise<AppPage> {
  const context = await browser.newContext({
    baseURL: server.url,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    colorScheme: opts.colorScheme ?? 'light',
    bypassCSP: opts.bypassCSP ?? false,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  return { page, context, problems };
}

export async function signIn(page: Page, username = 'admin', password = ADMIN_PASSWORD): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens `path` signed out, signs in on the page it is sent to, and waits for the live stream. */
export async function signInAt(
  app: AppPage,
  path = '/',
  username = 'admin',
  password = ADMIN_PASSWORD,
): Promise<void> {
  await app.page.goto(path);
  await signIn(app.page, username, password);
  await app.page.locator('[data-testid=connection-state][data-state=live]').waitFor();
}

/** Creates a user through the API (as the admin) who can sign in at once with `password`. */
export async function createUser(
  server: TestServer,
  username: string,
  role: 'viewer' | 'operator' | 'admin',
  password: string,
) {
  const res = await server.api('/api/v1/users', {
    method: 'POST',
    json: { username, email: `${username}@example.com`, role, password, must_change_password: false },
  });
  expect(res.status).toBe(201);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (WCAG 2 A/AA rules). */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const g = globalThis as unknown as {
      document: unknown;
      axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> };
    };
    return (await g.axe.run(g.document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })) as {
      violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
    };
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}
