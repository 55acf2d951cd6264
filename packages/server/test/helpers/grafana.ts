import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * The Grafana files of deploy/grafana, read the way the tests need them: dashboards, their panels
 * (rows' nested panels included) and each query, with Grafana's macros substituted the way Grafana
 * would before sending them (absolute time bounds, an interval, the template variable's value).
 */

export const DEPLOY_DIR = new URL('../../../../deploy/', import.meta.url);
export const GRAFANA_DIR = new URL('grafana/', DEPLOY_DIR);
export const DASHBOARD_FILES = ['fleet-overview.json', 'robot.json'] as const;

export interface DatasourceRef {
  type: string;
  uid: string;
}

export interface GrafanaTarget {
  refId: string;
  datasource?: DatasourceRef;
  query?: string;
  rawSql?: string;
  [key: string]: unknown;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: DatasourceRef;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  [key: string]: unknown;
}

export interface GrafanaVariable {
  name: string;
  type: string;
  datasource?: DatasourceRef;
  query?: string;
  [key: string]: unknown;
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
  [key: string]: unknown;
}

export function readDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(new URL(`dashboards/${file}`, GRAFANA_DIR), 'utf8')) as GrafanaDashboard;
}

export function readYaml(path: URL): unknown {
  return parse(readFileSync(path, 'utf8'));
}

export interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  jsonData?: Record<string, unknown>;
}

export function provisionedDatasources(): ProvisionedDatasource[] {
  const doc = readYaml(new URL('provisioning/datasources/fleet.yaml', GRAFANA_DIR)) as {
    datasources: ProvisionedDatasource[];
  };
  return doc.datasources;
}

/** Every panel, a row's nested panels included. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  datasource: DatasourceRef;
  text: string;
}

/** Every query of every panel, with the datasource it runs on (the target's, else the panel's). */
export function panelQueries(dashboard: GrafanaDashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const datasource = target.datasource ?? panel.datasource;
      const text = target.rawSql ?? target.query;
      if (!datasource || text === undefined)
        throw new Error(`${dashboard.uid} "${panel.title}" has a query without a datasource or text`);
      out.push({ dashboard: dashboard.uid, panel: panel.title, refId: target.refId, datasource, text });
    }
  }
  return out;
}

export function allQueries(): PanelQuery[] {
  return DASHBOARD_FILES.flatMap((f) => panelQueries(readDashboard(f)));
}

/** The dashboards' template-variable queries, as panel queries (they run on the same datasources). */
export function variableQueries(): PanelQuery[] {
  return DASHBOARD_FILES.flatMap((f) => {
    const d = readDashboard(f);
    return d.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => ({
        dashboard: d.uid,
        panel: `variable ${v.name}`,
        refId: v.name,
        datasource: v.datasource!,
        text: String(v.query),
      }));
  });
}

export interface Substitution {
  from: Date;
  to: Date;
  /** Template variables' values. */
  variables: Record<string, string>;
  /** `$__interval`, as Grafana computes it from the range and the panel's width. */
  interval?: string;
}

/** The macros Grafana's PostgreSQL datasource expands, and the template variables. */
export function substituteSql(sql: string, s: Substitution): string {
  const from = `'${s.from.toISOString()}'`;
  const to = `'${s.to.toISOString()}'`;
  return substituteVariables(
    sql
      .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, col: string) => `${col.trim()} BETWEEN ${from} AND ${to}`)
      .replace(
        /\$__timeGroupAlias\(([^,]+),\s*'(\d+)([smhd])'\)/g,
        (_m, col: string, n: string, unit: string) => {
          const seconds = Number(n) * { s: 1, m: 60, h: 3600, d: 86_400 }[unit as 's' | 'm' | 'h' | 'd'];
          return `floor(extract(epoch from ${col.trim()})/${seconds})*${seconds} AS "time"`;
        },
      )
      .replace(/\$__timeFrom\(\)/g, from)
      .replace(/\$__timeTo\(\)/g, to),
    s.variables,
  );
}

/** The InfluxQL datasource's macros (`$timeFilter` as absolute epoch-ms bounds, like Grafana sends it). */
export function substituteInfluxQL(query: string, s: Substitution): string {
  return substituteVariables(
    query
      .replace(/\$timeFilter/g, `time >= ${s.from.getTime()}ms and time <= ${s.to.getTime()}ms`)
      .replace(/\$__interval/g, s.interval ?? '10s'),
    s.variables,
  );
}

function substituteVariables(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = variables[name];
    if (value === undefined) throw new Error(`no value for ${m} in: ${text}`);
    return value;
  });
}

/** Grafana's own variables and macros a query, alias or link may use besides the dashboard's variables. */
export const BUILT_IN_VARIABLES = new Set([
  'timeFilter',
  '__timeFilter',
  '__timeGroupAlias',
  '__timeFrom',
  '__timeTo',
  '__interval',
  '__interval_ms',
  '__value',
  '__url_time_range',
]);

/** Names of `$var` / `${var}` references in a text (alias `$tag_x` and `$col` are Grafana's own). */
export function variableReferences(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)/g)) {
    const name = (m[1] ?? m[2])!;
    if (name.startsWith('tag_') || name === 'col') continue;
    names.push(name);
  }
  return names;
}

export interface InfluxQLReference {
  measurement: string;
  fields: string[];
  tags: string[];
}

/**
 * What a dashboard's InfluxQL reads: `FROM "<measurement>"`, the quoted identifiers inside its SELECT
 * functions (fields) and the quoted identifiers in its WHERE and GROUP BY (tags). The dashboards keep to
 * this shape (build-dashboards.ts), so a query this cannot read fails the test rather than slipping by.
 */
export function influxQLReferences(query: string): InfluxQLReference {
  const m = /^SELECT (.+) FROM "([a-z_]+)" WHERE (.+?)(?: GROUP BY (.+?))?(?: fill\(\w+\))?$/.exec(query);
  if (!m) throw new Error(`not a query of the dashboards' shape: ${query}`);
  const [, select, measurement, where, groupBy] = m as unknown as [string, string, string, string, string?];
  const fields = [
    ...select.matchAll(/\b(?:mean|max|min|last|first|sum|count|median)\("([a-z0-9_]+)"\)/g),
  ].map((x) => x[1]!);
  if (fields.length === 0) throw new Error(`no field read by: ${query}`);
  const tags = [...`${where} ${groupBy ?? ''}`.matchAll(/"([a-z0-9_]+)"/g)].map((x) => x[1]!);
  return { measurement, fields, tags };
}

/** The tables a dashboard's SQL reads (`FROM x`, `JOIN x`). */
export function sqlTables(sql: string): string[] {
  return [...sql.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)/gi)].map((m) => m[1]!.toLowerCase());
}

/** A robot, one alert, one job and one log entry, for the dashboards' PostgreSQL queries to find. */
export function seedSql(robotId: string): string[] {
  return [
    `INSERT INTO robots (robot_id, name, status, last_seen, first_seen) VALUES ('${robotId}', 'Grafana test', 'online', now(), now())`,
    `INSERT INTO alerts (robot_id, alert_type, severity, title, message, source, value, threshold, created_at)
     VALUES ('${robotId}', 'battery', 'warning', 'Battery low', 'Battery at 15 %', 'battery', 15, 20, now() - interval '5 minutes')`,
    `INSERT INTO jobs (robot_id, start_time, items_total, items_done, percent_complete, status, task_name)
     VALUES ('${robotId}', now() - interval '10 minutes', 10, 4, 40, 'active', 'aisle 3 inventory')`,
    `INSERT INTO system_logs (level, category, message, robot_id, source) VALUES ('INFO', 'robot', 'job started', '${robotId}', 'job')`,
  ];
}
