/**
 * `npm run bench:alerts-api -- [--alerts 100000] [--robots 100] [--runs 50] [--explain]`
 *
 * Stores `alerts` alerts (one bulk INSERT … SELECT over generate_series: 30 days of them, `robots` robots,
 * three severities, the three states, a few types and rules), then times `GET /api/v1/alerts` over HTTP as
 * a user pages it: the first page unfiltered and filtered (robot, severity + state, type, rule, a time
 * range, text search), and ten pages deep with the cursor. Prints median and p99 per query (and the first
 * page's median through the service alone, without HTTP) and, with
 * --explain, PostgreSQL's plan for each (PGlite, the embedded engine). Never a verdict.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AlertListQuery } from '@tonypi/contracts';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    alerts: { type: 'string', default: '100000' },
    robots: { type: 'string', default: '100' },
    runs: { type: 'string', default: '50' },
    explain: { type: 'boolean', default: false },
  },
});
const alerts = Number(values.alerts);
const robots = Number(values.robots);
const runs = Number(values.runs);
const DAYS = 30;

/** Precise latencies (the histogram keeps whole ms; these answers take a few). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-alerts-bench-'));
  const config = loadConfig({ ...loopbackEnv(dataDir, BENCH_PASSWORD), LOG_LEVEL: 'warn' });
  const server = await startServer(config, { logger: createLogger('warn') });
  try {
    const token = await benchLogin(server.url);
    const headers = { authorization: `Bearer ${token}` };
    const db = server.db;

    // Five rules the alerts are spread over: the fleet's defaults the server seeded at start.
    const { rows: ruleRows } = await db.query<{ id: number }>(
      'SELECT id FROM alert_rules WHERE robot_id IS NULL ORDER BY id LIMIT 5',
    );
    const rules = ruleRows.map((r) => Number(r.id));
    if (rules.length < 5) throw new Error(`expected the default alert rules, found ${rules.length}`);

    const fillStart = performance.now();
    // Most alerts are old and resolved; the last day's are open or acknowledged, as an engine leaves them.
    await db.query(
      `INSERT INTO alerts (robot_id, alert_type, severity, state, title, message, rule_id, source, value, threshold,
                           muted, dedup_key, acknowledged, acknowledged_by, acknowledged_at, resolved, resolved_at,
                           created_at, updated_at)
       SELECT robot, kind, severity, state,
              CASE kind WHEN 'threshold' THEN 'CPU high on ' || robot ELSE 'Robot ' || robot || ' offline' END,
              'value ' || (i % 100) || ' crossed the level (alert ' || i || ')',
              CASE WHEN kind = 'threshold' THEN ($3::int[])[1 + i % 5] END,
              CASE WHEN kind = 'threshold' THEN 'servo:' || (i % 6) END,
              i % 100, 90, i % 50 = 0, 'k' || i,
              state <> 'open', CASE WHEN state <> 'open' THEN 'admin' END, CASE WHEN state <> 'open' THEN at END,
              state = 'resolved', CASE WHEN state = 'resolved' THEN at END, at, at
         FROM (SELECT i,
                      'bench_' || lpad((i % $2)::text, 3, '0') AS robot,
                      (ARRAY['threshold', 'threshold', 'threshold', 'robot_offline', 'robot_error'])[1 + i % 5] AS kind,
                      (ARRAY['info', 'warning', 'warning', 'critical'])[1 + (i / 7) % 4] AS severity,
                      now() - (($4::float8 * ($1 - i) / $1) * interval '1 day') AS at,
                      CASE WHEN $1 - i < $1 / ($4 * 2) THEN (ARRAY['open', 'acknowledged'])[1 + i % 2]
                           ELSE 'resolved' END AS state
                 FROM generate_series(1, $1) AS i) s`,
      [alerts, robots, rules, DAYS],
    );
    await db.query('ANALYZE alerts');
    console.log(
      `stored ${alerts} alerts (${robots} robots, ${DAYS} days) in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`,
    );

    const queries: Array<[string, string]> = [
      ['first page, no filter', ''],
      ['one robot', '&robot_id=bench_042'],
      ['critical, open or acknowledged', '&severity=critical&state=open,acknowledged'],
      ['warning + critical, resolved, last 7 d', '&severity=warning,critical&state=resolved&from=7d'],
      ['type robot_offline', '&alert_type=robot_offline'],
      ['one rule', `&rule_id=${rules[2]}`],
      ['robot + type, last 24 h', '&robot_id=bench_007&alert_type=threshold&from=24h'],
      ['muted', '&muted=true'],
      ['text search (rare)', '&search=alert%2099999)'],
      ['text search (common)', '&search=offline'],
    ];

    const time = async (label: string, query: string, pages = 1) => {
      const samples: number[] = [];
      let total = 0;
      let items = 0;
      for (let run = 0; run < runs + 3; run++) {
        let cursor: string | null = null;
        for (let page = 0; page < pages; page++) {
          const url = `${server.url}/api/v1/alerts?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`;
          const t0 = performance.now();
          const res = await fetch(url, { headers });
          const text = await res.text();
          const ms = performance.now() - t0;
          if (res.status !== 200) throw new Error(`${label}: ${res.status} ${text}`);
          const body = JSON.parse(text) as { items: unknown[]; total: number; next_cursor: string | null };
          if (run >= 3) samples.push(ms);
          if (run === 0 && page === 0) total = body.total;
          if (run === 0) items += body.items.length;
          cursor = body.next_cursor;
          if (!cursor) break;
        }
      }
      samples.sort((a, b) => a - b);
      // The same first page without HTTP: the service's SQL and mapping alone, to tell them from the transport.
      const service: number[] = [];
      const parsed = AlertListQuery.parse(Object.fromEntries(new URLSearchParams(`limit=100${query}`)));
      for (let run = 0; run < runs; run++) {
        const t0 = performance.now();
        await server.service('alertsApi').list(parsed);
        service.push(performance.now() - t0);
      }
      service.sort((a, b) => a - b);
      return {
        query: label,
        total,
        items_walked: items,
        median_ms: Math.round(quantile(samples, 0.5) * 10) / 10,
        p99_ms: Math.round(quantile(samples, 0.99) * 10) / 10,
        first_page_service_median_ms: Math.round(quantile(service, 0.5) * 10) / 10,
      };
    };

    const rows = [];
    for (const [label, query] of queries) rows.push(await time(label, query));
    rows.push(await time('10 pages deep, no filter (cursor)', '', 10));
    rows.push(
      await time('10 pages deep, warning + resolved (cursor)', '&severity=warning&state=resolved', 10),
    );
    console.table(rows);

    const stats = [];
    for (const [label, query] of [
      ['stats, last 24 h (default)', ''],
      ['stats, last 7 d', '?time_range=7d'],
      ['stats, 30 d, one robot', '?from=30d&robot_id=bench_042'],
    ] as const) {
      const samples: number[] = [];
      for (let run = 0; run < runs + 3; run++) {
        const t0 = performance.now();
        const res = await fetch(`${server.url}/api/v1/alerts/stats${query}`, { headers });
        await res.text();
        if (res.status !== 200) throw new Error(`${label}: ${res.status}`);
        if (run >= 3) samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      stats.push({
        query: label,
        median_ms: Math.round(quantile(samples, 0.5) * 10) / 10,
        p99_ms: Math.round(quantile(samples, 0.99) * 10) / 10,
      });
    }
    console.table(stats);

    const medians = rows.map((r) => r.median_ms).sort((a, b) => a - b);
    console.log(
      `alerts-api: ${alerts} alerts stored; GET /api/v1/alerts (limit 100) medians ${medians[0]}–${medians.at(-1)} ms, ` +
        `worst p99 ${Math.max(...rows.map((r) => r.p99_ms))} ms`,
    );

    if (values.explain) {
      const explain = async (label: string, sql: string, params: unknown[]) => {
        const { rows: plan } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE ${sql}`, params);
        console.log(`\n-- ${label}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
      };
      const page = 'SELECT id FROM alerts';
      const order = 'ORDER BY created_at DESC, id DESC LIMIT 101';
      await explain('first page', `${page} ${order}`, []);
      await explain('one robot', `${page} WHERE robot_id = $1 ${order}`, ['bench_042']);
      await explain(
        'critical, open or acknowledged',
        `${page} WHERE severity = $1 AND state = ANY($2::varchar[]) ${order}`,
        ['critical', ['open', 'acknowledged']],
      );
      await explain('one rule', `${page} WHERE rule_id = $1 ${order}`, [rules[2]]);
      await explain('type', `${page} WHERE alert_type = $1 ${order}`, ['robot_offline']);
      await explain('rare type', `${page} WHERE alert_type = $1 ${order}`, ['emergency_stop']);
      await explain('muted', `${page} WHERE muted = $1 ${order}`, [true]);
      await explain(
        'muted, count',
        'SELECT count(*) FROM (SELECT 1 FROM alerts WHERE muted = $1 LIMIT 1001) s',
        [true],
      );
      await explain('text search (rare)', `${page} WHERE search_text LIKE lower($1) ESCAPE '\\' ${order}`, [
        '%alert 99999)%',
      ]);
      await explain(
        'count, capped',
        'SELECT count(*) FROM (SELECT 1 FROM alerts WHERE severity = $1 LIMIT 1001) s',
        ['warning'],
      );
      await explain(
        'count, rare',
        'SELECT count(*) FROM (SELECT 1 FROM alerts WHERE severity = $1 AND state = ANY($2::varchar[]) LIMIT 1001) s',
        ['critical', ['open', 'acknowledged']],
      );
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
