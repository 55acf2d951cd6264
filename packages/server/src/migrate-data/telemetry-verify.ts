/**
 * The telemetry half's verification: per measurement and field, how many values and their sum in DuckDB (raw
 * wide columns and extras; per roll-up tier the windows and the counts they hold) against the same figures
 * InfluxDB gives for `count(*)` and `sum(*)` over all time, with absolute bounds.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, num } from '../telemetry/duckdb-sql';
import type { InfluxHttp } from '../telemetry/influx-http';
import { MAX_TIME_MS, quoteIdent, timeBounds } from '../telemetry/influx-line-protocol';
import { rowsOf } from '../telemetry/influx-schema';
import type { RawSource } from './telemetry-copy';

async function scalar(duck: DuckDBConnection, sql: string): Promise<number> {
  return num((await duck.runAndReadAll(sql)).getRows()[0]?.[0]) ?? 0;
}

/**
 * Per measurement and field: how many values and their sum. `duplicates`: values that share their series and
 * millisecond with another value of the field in DuckDB, which InfluxDB stores as one point (the last written,
 * in an order a batch does not fix): `count` then counts them once and the sum is not compared.
 */
export type FieldTotals = Map<string, Map<string, { count: number; sum: number; duplicates?: number }>>;

function add(
  totals: FieldTotals,
  measurement: string,
  field: string,
  count: number,
  sum: number,
  duplicates = 0,
): void {
  const m = totals.get(measurement) ?? new Map<string, { count: number; sum: number; duplicates?: number }>();
  totals.set(measurement, m);
  const t = m.get(field) ?? { count: 0, sum: 0 };
  const dup = (t.duplicates ?? 0) + duplicates;
  m.set(field, {
    count: t.count + count - duplicates,
    sum: t.sum + sum,
    ...(dup > 0 ? { duplicates: dup } : {}),
  });
}

/** The DuckDB side: raw fields (wide columns and extras) and, per tier, roll-up windows and their counts. */
export async function duckTotals(
  duck: DuckDBConnection,
  sources: readonly RawSource[],
): Promise<{ raw: FieldTotals; '1m': FieldTotals; '1h': FieldTotals }> {
  const raw: FieldTotals = new Map();
  for (const s of sources) {
    if (s.fields.length === 0) continue;
    const key = ['ts', 'robot_id', ...s.tags].map(ident).join(', ');
    // Rows that share a series and millisecond are rare: the per-field distinct counts run only if some do.
    const shared = await scalar(duck, `SELECT count(*) - count(DISTINCT (${key})) FROM ${s.table}`);
    const select = s.fields
      .map((f) => {
        const q = ident(f);
        const distinct =
          shared > 0 ? `count(DISTINCT (${key})) FILTER (WHERE ${q} IS NOT NULL)` : `count(${q})`;
        return `count(${q}), coalesce(sum(${q}), 0), ${distinct}`;
      })
      .join(', ');
    const row = (await duck.runAndReadAll(`SELECT ${select} FROM ${s.table}`)).getRows()[0] ?? [];
    s.fields.forEach((f, i) => {
      const count = num(row[3 * i] as bigint) ?? 0;
      const distinct = num(row[3 * i + 2] as bigint) ?? 0;
      if (count > 0) add(raw, s.measurement, f, count, num(row[3 * i + 1] as number) ?? 0, count - distinct);
    });
  }
  const extras = await duck.runAndReadAll(
    `SELECT measurement, field, count(*), sum(value), count(*) - count(DISTINCT (ts, robot_id, tags))
     FROM raw_extra GROUP BY measurement, field`,
  );
  for (const [m, f, c, s, d] of extras.getRows())
    add(raw, String(m), String(f), num(c as bigint)!, num(s as number)!, num(d as bigint) ?? 0);
  const tier = async (table: string) => {
    const t: FieldTotals = new Map();
    const rows = await duck.runAndReadAll(
      `SELECT measurement, field, count(*), sum(count_v) FROM ${table} WHERE count_v > 0 AND sum_v IS NOT NULL GROUP BY ALL`,
    );
    for (const [m, f, c, s] of rows.getRows())
      add(t, String(m), `${f}_count`, num(c as bigint)!, num(s as bigint)!);
    return t;
  };
  return { raw, '1m': await tier('rollup_1m'), '1h': await tier('rollup_1h') };
}

/** What the operator should know about values InfluxDB stores once (see FieldTotals). */
export function duplicateNotes(totals: FieldTotals): string[] {
  const notes: string[] = [];
  for (const [m, fields] of totals) {
    for (const [f, t] of fields) {
      if (t.duplicates) {
        notes.push(
          `${m}.${f}: ${t.duplicates} value(s) share their series and millisecond with another in DuckDB; InfluxDB keeps one of each (its sum is not compared)`,
        );
      }
    }
  }
  return notes;
}

/** The same figures read back from one InfluxDB tier: `count(*)` and `sum(*)` over all time, per measurement. */
export async function influxTotals(
  http: InfluxHttp,
  db: string,
  measurements: Iterable<string>,
  onlyCounts: boolean,
): Promise<FieldTotals> {
  const totals: FieldTotals = new Map();
  for (const m of measurements) {
    const series = await http.query(
      db,
      `SELECT count(*), sum(*) FROM ${quoteIdent(m)} WHERE ${timeBounds(0, MAX_TIME_MS)}`,
      { timeoutMs: 300_000 },
    );
    for (const row of rowsOf(series[0])) {
      for (const [k, v] of Object.entries(row)) {
        if (!k.startsWith('count_') || typeof v !== 'number') continue;
        const field = k.slice('count_'.length);
        if (onlyCounts && !field.endsWith('_count')) continue;
        const sum = row[`sum_${field}`];
        add(totals, m, field, v, typeof sum === 'number' ? sum : 0);
      }
    }
  }
  return totals;
}

/** Differences between two sets of totals, as lines for the operator. Sums may differ in the last digits. */
export function compareTotals(what: string, source: FieldTotals, target: FieldTotals): string[] {
  const problems: string[] = [];
  for (const [m, fields] of source) {
    for (const [f, a] of fields) {
      const b = target.get(m)?.get(f) ?? { count: 0, sum: 0 };
      if (a.count !== b.count) {
        problems.push(`${what} ${m}.${f}: ${a.count} values in DuckDB, ${b.count} in InfluxDB`);
      } else if (
        !a.duplicates &&
        Math.abs(a.sum - b.sum) > 1e-9 * Math.max(1, Math.abs(a.sum), Math.abs(b.sum))
      ) {
        problems.push(`${what} ${m}.${f}: sum ${a.sum} in DuckDB, ${b.sum} in InfluxDB`);
      }
    }
  }
  for (const [m, fields] of target) {
    for (const [f, b] of fields) {
      if (!source.get(m)?.has(f))
        problems.push(`${what} ${m}.${f}: ${b.count} values in InfluxDB, none in DuckDB`);
    }
  }
  return problems;
}
