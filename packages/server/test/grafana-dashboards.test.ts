import { readFileSync } from 'node:fs';
import { MEASUREMENTS } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS } from '../../../deploy/grafana/build-dashboards';
import { openTestPGlite } from '../src/db/test-databases';
import {
  allPanels,
  allQueries,
  BUILT_IN_VARIABLES,
  DASHBOARD_FILES,
  DEPLOY_DIR,
  GRAFANA_DIR,
  influxQLReferences,
  provisionedDatasources,
  readDashboard,
  readYaml,
  seedSql,
  sqlTables,
  substituteSql,
  variableQueries,
  variableReferences,
} from './helpers/grafana';

/**
 * What Grafana needs to load deploy/grafana's dashboards, checked without a Grafana (none is installable
 * here): the model's required parts, ids and grid positions, datasources that are provisioned, variables
 * that resolve, InfluxDB measurements and fields that the telemetry contract defines, and PostgreSQL
 * queries that run on the migrated schema. grafana-panels.services.test.ts runs every query on the real
 * engines and asks for data.
 */
const dashboards = DASHBOARD_FILES.map((file) => ({ file, dashboard: readDashboard(file) }));
const datasources = provisionedDatasources();

describe('deploy/grafana/provisioning', () => {
  it('provisions the datasources with fixed uids on the telemetry tiers and the database', () => {
    expect(datasources.map((d) => [d.uid, d.type, d.jsonData?.dbName ?? d.jsonData?.database])).toEqual([
      ['tonypi-influx', 'influxdb', 'fleet_raw'],
      ['tonypi-influx-1m', 'influxdb', 'fleet_1m'],
      ['tonypi-postgres', 'postgres', expect.stringContaining('FLEET_PG_DATABASE')],
    ]);
    expect(new Set(datasources.map((d) => d.name)).size).toBe(datasources.length);
  });

  it('loads the dashboards from the folder docker-compose mounts the JSON files in', () => {
    const provider = readYaml(new URL('provisioning/dashboards/fleet.yaml', GRAFANA_DIR)) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.apiVersion).toBe(1);
    const compose = readYaml(new URL('docker-compose.yml', DEPLOY_DIR)) as {
      services: Record<string, { volumes: string[] }>;
    };
    const mounted = compose.services.grafana!.volumes.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(mounted?.split(':')[1]).toBe(provider.providers[0]!.options.path);
    expect(provider.providers[0]!.type).toBe('file');
  });
});

describe.each(dashboards)('deploy/grafana/dashboards/$file', ({ file, dashboard }) => {
  it('is what build-dashboards.ts makes (edit that file, then `npm run grafana:dashboards`)', () => {
    const make = DASHBOARDS[file as keyof typeof DASHBOARDS];
    expect(dashboard).toEqual(JSON.parse(JSON.stringify(make())));
  });

  it('is a plain dashboard model Grafana provisions: schemaVersion, uid, title, templating, annotations', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(Array.isArray(dashboard.templating.list)).toBe(true);
    expect(Array.isArray((dashboard.annotations as { list: unknown[] }).list)).toBe(true);
    // The grafana.com import format's keys are refused by provisioning.
    expect(dashboard).not.toHaveProperty('__inputs');
    expect(dashboard).not.toHaveProperty('__requires');
    expect(dashboard).not.toHaveProperty('id');
  });

  it('gives every panel a unique id and an integer grid position inside 24 columns, without overlaps', () => {
    const panels = allPanels(dashboard);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      expect(Number.isInteger(p.id), p.title).toBe(true);
      const g = p.gridPos!;
      expect(g, p.title).toBeDefined();
      for (const v of [g.h, g.w, g.x, g.y]) expect(Number.isInteger(v) && v >= 0, p.title).toBe(true);
      expect(g.w > 0 && g.h > 0 && g.x + g.w <= 24, p.title).toBe(true);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it("points every panel, query and variable at a provisioned datasource's uid and type", () => {
    const byUid = new Map(datasources.map((d) => [d.uid, d.type]));
    const refs = [
      ...allPanels(dashboard).flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
      ...dashboard.templating.list.map((v) => v.datasource),
    ].filter((r) => r !== undefined);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(byUid.get(ref.uid), JSON.stringify(ref)).toBe(ref.type);
    for (const p of allPanels(dashboard).filter((p) => p.type !== 'row'))
      expect(p.targets?.length, `${p.title} has no query`).toBeGreaterThan(0);
  });

  it('uses only variables it defines or Grafana provides, in queries, aliases and links', () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const text = JSON.stringify(dashboard.panels);
    for (const name of variableReferences(text)) {
      expect(defined.has(name) || BUILT_IN_VARIABLES.has(name), `$${name}`).toBe(true);
    }
  });

  it('reads only measurements, fields and tags of the telemetry contract (packages/contracts)', () => {
    const influx = allQueries().filter(
      (q) => q.dashboard === dashboard.uid && q.datasource.type === 'influxdb',
    );
    expect(influx.length).toBeGreaterThan(0);
    for (const q of influx) {
      const ref = influxQLReferences(q.text);
      const spec = MEASUREMENTS[ref.measurement as keyof typeof MEASUREMENTS];
      expect(spec, `${q.panel}: measurement ${ref.measurement}`).toBeDefined();
      for (const f of ref.fields)
        expect(spec.fields as readonly string[], `${q.panel}: field ${f}`).toContain(f);
      for (const t of ref.tags) expect(['robot_id', ...spec.tags], `${q.panel}: tag ${t}`).toContain(t);
    }
  });
});

describe('deploy/grafana dashboards together', () => {
  it('have unique uids, and the links between them name those uids', () => {
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const text = dashboards.map((d) => JSON.stringify(d.dashboard)).join('\n');
    for (const [, uid] of text.matchAll(/\/d\/([a-zA-Z0-9_-]+)\//g)) expect(uids).toContain(uid);
  });

  it('show the per-robot panels the issue asks for, selected by a robot_id variable', () => {
    const robot = dashboards.find((d) => d.file === 'robot.json')!.dashboard;
    expect(robot.templating.list.map((v) => v.name)).toEqual(['robot_id']);
    const measurements = new Set(
      allQueries()
        .filter((q) => q.dashboard === robot.uid && q.datasource.type === 'influxdb')
        .map((q) => influxQLReferences(q.text).measurement),
    );
    expect([...measurements].sort()).toEqual(['battery', 'sensors', 'servos', 'system']);
    const servos = allQueries().filter(
      (q) => q.dashboard === robot.uid && q.text.includes('GROUP BY time($__interval), "servo_id"'),
    );
    expect(servos.length).toBeGreaterThanOrEqual(3);
    const tables = new Set(
      allQueries()
        .filter((q) => q.datasource.type === 'postgres')
        .flatMap((q) => sqlTables(q.text)),
    );
    expect([...tables].sort()).toEqual(['alerts', 'jobs', 'robots', 'system_logs']);
  });

  it("read only tables Grafana's read-only role is granted (deploy/postgres/grafana-readonly.sql)", () => {
    const sql = readFileSync(new URL('postgres/grafana-readonly.sql', DEPLOY_DIR), 'utf8');
    const granted = /GRANT SELECT ON ([a-z_, ]+) TO grafana_ro/.exec(sql)![1]!.split(/,\s*/);
    const read = [...allQueries(), ...variableQueries()]
      .filter((q) => q.datasource.type === 'postgres')
      .flatMap((q) => sqlTables(q.text));
    for (const table of read) expect(granted).toContain(table);
  });

  it("run every PostgreSQL query (panels and variables) on the server's migrated schema, and find the seeded rows", async () => {
    const db = await openTestPGlite();
    {
      for (const statement of seedSql('tonypi_grafana')) await db.query(statement);
      const now = Date.now();
      const queries = [...allQueries(), ...variableQueries()].filter((q) => q.datasource.type === 'postgres');
      expect(queries.length).toBeGreaterThanOrEqual(10);
      for (const q of queries) {
        const sql = substituteSql(q.text, {
          from: new Date(now - 6 * 3600_000),
          to: new Date(now + 60_000),
          variables: { robot_id: 'tonypi_grafana' },
        });
        const { rows } = await db.query(sql).catch((err: Error) => {
          throw new Error(`${q.dashboard} "${q.panel}": ${err.message}\n${sql}`);
        });
        expect(rows.length, `${q.dashboard} "${q.panel}" returned no rows`).toBeGreaterThan(0);
      }
    }
  });
});
