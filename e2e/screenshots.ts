/**
 * `npm run screenshots`: every page of the web app, light and dark, desktop (1280 × 860) and phone
 * (390 × 844), into docs/screenshots/<page>-<theme>-<desktop|phone>.png, from the real server with four
 * simulated robots (in this process, temp data dir, stopped at the end).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startTestServer } from '../packages/server/test/helpers/test-server';
import { startFakeGrafana } from './fake-grafana';
import setup from './global-setup';
import { launchBrowser, signIn } from './helpers';

/** Each page: its path and what shows it has loaded. */
const PAGES: { name: string; path: string; ready: string }[] = [
  { name: 'fleet', path: '/', ready: '[data-testid^=robot-card-]' },
  { name: 'robot', path: '/robots/tonypi_sim_01', ready: '[data-testid=chart] canvas' },
  { name: 'robot-servos', path: '/robots/tonypi_sim_01?tab=servos', ready: '[data-testid=servo-row-1]' },
  { name: 'robot-sensors', path: '/robots/tonypi_sim_01?tab=sensors', ready: '[data-testid=chart] canvas' },
  { name: 'robot-commands', path: '/robots/tonypi_sim_01?tab=commands', ready: 'select' },
  {
    name: 'robot-diagnostics',
    path: '/robots/tonypi_sim_01?tab=diagnostics',
    ready: '[data-testid^=channel-]',
  },
  {
    name: 'robot-camera',
    path: '/robots/tonypi_sim_01?tab=camera',
    ready: '[data-testid=camera-resolution]',
  },
  // The panels come from a stand-in Grafana (e2e/fake-grafana.ts): no Grafana is installable here.
  { name: 'robot-grafana', path: '/robots/tonypi_sim_01?tab=grafana', ready: 'iframe' },
  { name: 'robot-settings', path: '/robots/tonypi_sim_01?tab=settings', ready: 'textarea, input' },
  { name: 'alerts', path: '/alerts', ready: 'h1' },
  { name: 'alert-rules', path: '/alerts/rules', ready: 'table, h1' },
  { name: 'alert-channels', path: '/alerts/channels', ready: 'h1' },
  { name: 'jobs', path: '/jobs', ready: 'h1' },
  { name: 'items', path: '/items', ready: 'h1' },
  { name: 'logs', path: '/logs', ready: 'h1' },
  { name: 'robots', path: '/robots', ready: 'table, h1' },
  { name: 'users', path: '/users', ready: 'table, h1' },
  { name: 'api-keys', path: '/api-keys', ready: 'h1' },
  { name: 'audit', path: '/audit', ready: 'h1' },
  { name: 'system', path: '/system', ready: '[data-testid=health-status]' },
  { name: 'change-password', path: '/account/password', ready: 'input[type=password]' },
  { name: 'reports', path: '/reports', ready: 'h1' },
  { name: 'report', path: '/reports/{report}', ready: '[data-testid=report-snapshots]' },
];

/** What the pages show beyond the live fleet: an alert with a camera snapshot, a report showing it. */
async function seed(server: Awaited<ReturnType<typeof startTestServer>>): Promise<{ report: number }> {
  const robot = 'tonypi_sim_01';
  for (let i = 0; i < 50; i++) {
    const r = await (await server.api(`/api/v1/robots/${robot}`)).json();
    if (r.camera_url) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const alert = await (
    await server.api('/api/v1/alerts', {
      method: 'POST',
      json: { robot_id: robot, severity: 'warning', title: 'Arm blocked', message: 'seen by the line lead' },
    })
  ).json();
  await server.api(`/api/v1/robots/${robot}/camera/snapshots`, {
    method: 'POST',
    json: { alert_id: alert.id, note: 'Left arm against the shelf' },
  });
  await server.api('/api/v1/report-schedules', {
    method: 'POST',
    json: {
      name: 'Weekly fleet review',
      kind: 'fleet_summary',
      frequency: 'weekly',
      weekday: 1,
      time: '06:00',
    },
  });
  await server.api('/api/v1/report-schedules', {
    method: 'POST',
    json: {
      name: `Nightly ${robot}`,
      kind: 'performance',
      robot_id: robot,
      frequency: 'daily',
      time: '02:30',
    },
  });
  const { report_id } = await (
    await server.api('/api/v1/reports', {
      method: 'POST',
      json: { kind: 'performance', robot_id: robot, from: '1h' },
    })
  ).json();
  for (let i = 0; i < 100; i++) {
    const r = await (await server.api(`/api/v1/reports/${report_id}`)).json();
    if (r.status === 'completed') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { report: report_id };
}

const OUT = path.join(import.meta.dirname, '..', 'docs', 'screenshots');
const SIZES = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } } as const;

/** `npm run screenshots -- fleet robots`: only those pages (and sign-in). */
const only = new Set(process.argv.slice(2));

async function main(): Promise<void> {
  setup();
  await mkdir(OUT, { recursive: true });
  const grafana = await startFakeGrafana();
  const server = await startTestServer({
    SIMULATED_ROBOTS: '4',
    SIMULATED_RATE_HZ: '2',
    GRAFANA_URL: grafana.url,
  });
  const browser = await launchBrowser();
  try {
    const seeded = await seed(server);
    for (const theme of ['light', 'dark'] as const) {
      for (const [size, viewport] of Object.entries(SIZES)) {
        const context = await browser.newContext({ baseURL: server.url, viewport, colorScheme: theme });
        const page = await context.newPage();
        await page.goto('/sign-in');
        await page.getByLabel('Username').waitFor();
        await page.screenshot({ path: path.join(OUT, `sign-in-${theme}-${size}.png`) });
        await signIn(page);
        await page.locator('[data-testid=connection-state][data-state=live]').waitFor();
        for (const p of PAGES.filter((x) => only.size === 0 || only.has(x.name))) {
          await page.goto(p.path.replace('{report}', String(seeded.report)));
          await page.locator(p.ready).first().waitFor({ timeout: 30_000 });
          // Live values and charts settle.
          await page.waitForTimeout(2500);
          await page.screenshot({ path: path.join(OUT, `${p.name}-${theme}-${size}.png`) });
        }
        await context.close();
      }
    }
    console.log(`screenshots written to ${path.relative(process.cwd(), OUT)}/`);
  } finally {
    await browser.close();
    await server.close();
    await grafana.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
