import { readFileSync } from 'node:fs';
import { GRAFANA_DASHBOARDS, GRAFANA_ROBOT_PANELS } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server';

/**
 * Grafana in the web app (issue #9 §5): the panels the app embeds are the provisioned dashboards' own, and
 * the server tells the app about Grafana, and lets its pages frame it, only when GRAFANA_URL is set.
 */
const dashboard = (file: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../deploy/grafana/dashboards/${file}`, import.meta.url), 'utf8'),
  ) as {
    uid: string;
    title: string;
    links: { url: string }[];
    panels: { id: number; type: string; title: string }[];
    templating: { list: { name: string }[] };
  };

describe('the embedded panels (contracts/grafana.ts) and the provisioned dashboards', () => {
  it('names each dashboard by the uid and slug the dashboards link each other with', () => {
    for (const [file, ref] of [
      ['robot.json', GRAFANA_DASHBOARDS.robot],
      ['fleet-overview.json', GRAFANA_DASHBOARDS.fleet],
    ] as const) {
      const d = dashboard(file);
      expect(d.uid, file).toBe(ref.uid);
      expect(d.links.map((l) => l.url)).toContain(`/d/${ref.uid}/${ref.slug}`);
    }
    expect(dashboard('robot.json').templating.list.map((v) => v.name)).toEqual(['robot_id']);
  });

  it('embeds panels of the robot dashboard by their id, each one the title says (no row, no table)', () => {
    const panels = new Map(dashboard('robot.json').panels.map((p) => [p.id, p]));
    for (const ref of GRAFANA_ROBOT_PANELS) {
      const panel = panels.get(ref.id);
      expect(panel, `panel ${ref.id}`).toBeDefined();
      expect(panel!.title, `panel ${ref.id}`).toBe(ref.title);
      expect(panel!.type, `panel ${ref.id}`).toBe(ref.size === 'stat' ? 'stat' : 'timeseries');
    }
    expect(new Set(GRAFANA_ROBOT_PANELS.map((p) => p.id)).size).toBe(GRAFANA_ROBOT_PANELS.length);
  });
});

const frameSrc = (res: Response) =>
  res.headers
    .get('content-security-policy')
    ?.split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('frame-src '));

describe('GET /api/v1/ui-config without GRAFANA_URL', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says there is no Grafana', async () => {
    const res = await t.api('/api/v1/ui-config');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ grafana: null });
  });

  it('needs a session (robots:read)', async () => {
    const res = await t.api('/api/v1/ui-config', { anonymous: true });
    expect(res.status).toBe(401);
  });

  it("gives the app's pages no frame-src", async () => {
    const page = await t.api('/robots/r1', { anonymous: true });
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(frameSrc(page)).toBeUndefined();
  });
});

describe('GET /api/v1/ui-config with GRAFANA_URL', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ GRAFANA_URL: 'https://monitor.example.com/grafana/' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers Grafana's URL (no trailing slash) and the provisioned dashboards", async () => {
    const res = await t.api('/api/v1/ui-config');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      grafana: {
        url: 'https://monitor.example.com/grafana',
        dashboards: {
          robot: { uid: 'tonypi-robot', slug: 'tonypi-robot' },
          fleet: { uid: 'tonypi-fleet', slug: 'tonypi-fleet' },
        },
      },
    });
  });

  it("lets the app's pages frame Grafana's origin, and only it", async () => {
    const page = await t.api('/robots/r1', { anonymous: true });
    expect(frameSrc(page)).toBe("frame-src 'self' https://monitor.example.com");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('is in the OpenAPI document with its permission', async () => {
    const doc = await (await t.api('/docs/json', { anonymous: true })).json();
    const op = doc.paths['/api/v1/ui-config'].get;
    expect(op['x-permission'] ?? op.description).toMatch(/robots:read/);
  });
});
