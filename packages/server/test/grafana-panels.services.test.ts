import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MEASUREMENTS } from '@tonypi/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate';
import { PostgresDatabase } from '../src/db/postgres-database';
import {
  allQueries,
  DEPLOY_DIR,
  influxQLReferences,
  seedSql,
  substituteInfluxQL,
  substituteSql,
  variableQueries,
} from './helpers/grafana';

/**
 * Every query of deploy/grafana's dashboards, macros substituted as Grafana would, on the real engines:
 * PostgreSQL (TEST_DATABASE_URL; required, like the rest of the services suite) migrated by the server,
 * read as Grafana's read-only role, and InfluxDB (TEST_INFLUX_URL, http://127.0.0.1:PORT; this part runs
 * only when it is set) with a few points written in line protocol. Each query must return data.
 */
const adminUrl = process.env.TEST_DATABASE_URL;
const influxUrl = process.env.TEST_INFLUX_URL;
if (!adminUrl) throw new Error('Set TEST_DATABASE_URL (see .ci/run) to run the services suite');

const execFileAsync = promisify(execFile);
const robotId = `tonypi_graf_${Math.random().toString(36).slice(2, 8)}`;
const now = Date.now();
const range = { from: new Date(now - 3600_000), to: new Date(now + 60_000) };

describe('Grafana dashboards on PostgreSQL', () => {
  const name = `tonypi_grafana_${Math.random().toString(36).slice(2, 10)}`;
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const grafanaUrl = new URL(dbUrl);
  grafanaUrl.username = 'grafana_ro';
  grafanaUrl.password = 'grafana-test-password';
  let grafana: pg.Client;

  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    const db = await PostgresDatabase.open({ url: dbUrl.toString() });
    try {
      await migrate(db);
      for (const statement of seedSql(robotId)) await db.query(statement);
    } finally {
      await db.close();
    }
    // The role exactly as deploy/docker-compose.yml makes it: psql running the shipped file.
    await execFileAsync('psql', [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-v',
      `grafana_password=${grafanaUrl.password}`,
      '-f',
      new URL('postgres/grafana-readonly.sql', DEPLOY_DIR).pathname,
      dbUrl.toString(),
    ]);
    grafana = new pg.Client({ connectionString: grafanaUrl.toString() });
    await grafana.connect();
  });
  afterAll(async () => {
    await grafana?.end();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  const queries = [...allQueries(), ...variableQueries()].filter((q) => q.datasource.type === 'postgres');

  it.each(queries.map((q) => [`${q.dashboard} "${q.panel}" ${q.refId}`, q] as const))(
    '%s returns rows, read as grafana_ro',
    async (_title, q) => {
      const sql = substituteSql(q.text, { ...range, variables: { robot_id: robotId } });
      const { rows } = await grafana.query(sql);
      expect(rows.length, sql).toBeGreaterThan(0);
    },
  );

  it('lets grafana_ro read nothing else, and write nothing', async () => {
    await expect(grafana.query('SELECT password_hash FROM users')).rejects.toThrow(/permission denied/);
    await expect(grafana.query('SELECT * FROM api_keys')).rejects.toThrow(/permission denied/);
    await expect(grafana.query(`UPDATE robots SET name = 'x' WHERE robot_id = '${robotId}'`)).rejects.toThrow(
      /read-only transaction|permission denied/,
    );
  });
});

describe.runIf(influxUrl)('Grafana dashboards on InfluxDB (TEST_INFLUX_URL)', () => {
  const base = influxUrl!;
  const database = 'fleet_raw';

  async function influxQuery(q: string, method: 'GET' | 'POST' = 'GET') {
    const url = new URL('/query', base);
    url.searchParams.set('db', database);
    url.searchParams.set('epoch', 'ms');
    url.searchParams.set('q', q);
    const res = await fetch(url, { method });
    const body = (await res.json()) as {
      error?: string;
      results?: { error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[];
    };
    if (!res.ok || body.error) throw new Error(`${res.status} ${body.error ?? ''}: ${q}`);
    return body.results ?? [];
  }

  /** Line protocol for every field of every measurement: a point every 10 s over the last 5 minutes. */
  function lines(): string {
    const out: string[] = [];
    for (let t = now - 300_000; t <= now; t += 10_000) {
      const i = (t - now) / 10_000;
      for (const [measurement, spec] of Object.entries(MEASUREMENTS)) {
        const fields = spec.fields.map((f, k) => `${f}=${(50 + k + Math.sin(i) * 5).toFixed(3)}`).join(',');
        if (spec.tags.includes('servo_id' as never)) {
          for (const servo of ['1', '2', '3'])
            out.push(`${measurement},robot_id=${robotId},servo_id=${servo} ${fields} ${t}`);
        } else out.push(`${measurement},robot_id=${robotId} ${fields} ${t}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  beforeAll(async () => {
    // 1.x; on 2.x/3.x the database (bucket) is made by the operator (docs/deploy.md).
    await influxQuery(`CREATE DATABASE ${database}`, 'POST');
    const res = await fetch(new URL(`/write?db=${database}&precision=ms`, base), {
      method: 'POST',
      body: lines(),
    });
    expect(res.status, await res.text()).toBe(204);
  });

  const queries = allQueries().filter((q) => q.datasource.type === 'influxdb');

  it('has queries for each measurement the dashboards show', () => {
    expect(new Set(queries.map((q) => influxQLReferences(q.text).measurement)).size).toBe(4);
  });

  it.each(queries.map((q) => [`${q.dashboard} "${q.panel}" ${q.refId}`, q] as const))(
    '%s returns data',
    async (_title, q) => {
      const text = substituteInfluxQL(q.text, {
        ...range,
        interval: '30s',
        variables: { robot_id: robotId },
      });
      const [result] = await influxQuery(text);
      expect(result?.error, text).toBeUndefined();
      const series = result?.series ?? [];
      expect(series.length, text).toBeGreaterThan(0);
      const values = series.flatMap((s) => s.values.flatMap((row) => row.slice(1)));
      expect(
        values.some((v) => typeof v === 'number'),
        text,
      ).toBe(true);
      if (q.text.includes('"servo_id"'))
        expect(series.length, 'one series per servo').toBeGreaterThanOrEqual(3);
    },
  );
});
