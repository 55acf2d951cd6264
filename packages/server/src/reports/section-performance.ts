import type { ReportSection, ReportStatement, ReportTable } from '@tonypi/contracts';
import { type SeriesStats, seriesTrend, timeBeyond } from './analysis';
import { duration, fieldLabel, fieldUnit, num, round, withUnit } from './report-format';
import type { ReportSeriesInput } from './report-input';
import {
  allStats,
  type Context,
  DAY,
  emptySection,
  HOUR,
  robotLines,
  type Severity,
  severityOf,
} from './section-context';

const PERFORMANCE_FIELDS = ['cpu_percent', 'memory_percent', 'disk_percent', 'cpu_temperature_c'] as const;

/**
 * Performance (system: CPU, memory, disk, CPU temperature): average, p95 and max per robot and across the
 * fleet, the time beyond each rule's level, significant trends; a table per robot and a line chart per field.
 */
export function performanceSection(ctx: Context): ReportSection {
  const sec = emptySection('performance');
  const rows: ReportTable['rows'] = [];
  const perField = new Map<string, Array<{ robot_id: string; series: ReportSeriesInput; rank: number }>>();
  for (const robot_id of ctx.robots) {
    const row: ReportTable['rows'][number] = { robot_id };
    let any = false;
    for (const field of PERFORMANCE_FIELDS) {
      const series = ctx.seriesOf(robot_id, 'system', field);
      const s = allStats(series);
      row[`${field}_mean`] = round(s?.mean, 1);
      row[`${field}_p95`] = round(s?.p95, 1);
      row[`${field}_max`] = round(s?.max, 1);
      if (!s || !series[0]) continue;
      any = true;
      const list = perField.get(field) ?? [];
      list.push({ robot_id, series: series[0], rank: s.p95 });
      perField.set(field, list);
      performanceStatements(ctx, sec, robot_id, field, series[0], s);
    }
    rows.push(row);
    if (!any)
      sec.statements.push(
        ctx.statement('performance', `No system data from ${robot_id} in this period.`, null, null, robot_id),
      );
  }
  const fleet: ReportStatement[] = [];
  if (ctx.robots.length > 1)
    for (const field of PERFORMANCE_FIELDS) {
      const all = ctx.robots.flatMap((r) => ctx.seriesOf(r, 'system', field));
      const s = allStats(all);
      if (!s) continue;
      const unit = fieldUnit('system', field);
      fleet.push(
        ctx.statement(
          'performance',
          `Across the fleet, ${fieldLabel('system', field)} averaged ${withUnit(s.mean, unit)} (p95 ${withUnit(s.p95, unit)}, max ${withUnit(s.max, unit)}).`,
          round(s.mean, 1),
          unit,
          null,
          'info',
          { summary: field === 'cpu_percent' ? 4 : 1 },
        ),
      );
    }
  sec.statements.unshift(...fleet);
  sec.tables.push({
    title: 'System figures per robot',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      ...PERFORMANCE_FIELDS.flatMap((f) => {
        const unit = fieldUnit('system', f);
        const label = fieldLabel('system', f);
        return [
          { key: `${f}_mean`, label: `${label} avg`, unit },
          { key: `${f}_p95`, label: `${label} p95`, unit },
          { key: `${f}_max`, label: `${label} max`, unit },
        ];
      }),
    ],
    rows,
  });
  for (const field of PERFORMANCE_FIELDS) {
    const list = perField.get(field);
    if (!list) continue;
    sec.charts.push({
      title: `${fieldLabel('system', field)} over time`,
      type: 'line',
      unit: fieldUnit('system', field),
      series: robotLines(list),
    });
  }
  return sec;
}

function performanceStatements(
  ctx: Context,
  sec: ReportSection,
  robot_id: string,
  field: string,
  series: ReportSeriesInput,
  s: SeriesStats,
): void {
  const unit = fieldUnit('system', field);
  const label = fieldLabel('system', field);
  const level = ctx.level('system', field);
  const severity = severityOf(s.p95, level);
  if (ctx.few || severity !== 'info')
    sec.statements.push(
      ctx.statement(
        'performance',
        `${robot_id}: ${label} averaged ${withUnit(s.mean, unit)} (p95 ${withUnit(s.p95, unit)}, max ${withUnit(s.max, unit)}).`,
        round(s.mean, 1),
        unit,
        robot_id,
        severity,
        { summary: field === 'cpu_percent' ? 3 : 2 },
      ),
    );
  if (level) {
    const threshold = level.warning ?? level.critical;
    if (threshold !== null) {
      const t = timeBeyond(series.buckets, series.bucket_ms, threshold, level.direction);
      const crit =
        level.critical === null
          ? null
          : timeBeyond(series.buckets, series.bucket_ms, level.critical, level.direction);
      if (t.ms > 0) {
        const sev: Severity = crit && crit.ms > 0 ? 'critical' : 'warning';
        sec.statements.push(
          ctx.statement(
            'performance',
            `${robot_id}: ${label} was ${level.direction} the ${withUnit(threshold, unit, 0)} ${level.warning !== null ? 'warning' : 'critical'} level for ${duration(t.ms)} (${num((t.share ?? 0) * 100)} % of the time with data)${crit && crit.ms > 0 ? `, ${duration(crit.ms)} of it ${level.direction} the critical ${withUnit(level.critical, unit, 0)}` : ''}.`,
            round(t.ms / HOUR, 2),
            'h',
            robot_id,
            sev,
            {
              summary: 6,
              group: {
                key: `performance.${field}`,
                item: `${robot_id} (${duration(t.ms)})`,
                unit: 'robots',
                text: (n, list) =>
                  `${label} was ${level.direction} the ${withUnit(threshold, unit, 0)} level on ${n} robots: ${list}.`,
              },
            },
          ),
        );
      }
    }
  }
  const trend = seriesTrend(series.buckets);
  const days = (ctx.input.to - ctx.input.from) / DAY;
  if (trend?.significant && Math.abs(trend.slope_per_day * days) >= Math.max(1, Math.abs(s.mean) * 0.05)) {
    const dir = trend.slope_per_day > 0 ? 'rose' : 'fell';
    sec.statements.push(
      ctx.statement(
        'performance',
        `${robot_id}: ${label} ${dir} ${withUnit(Math.abs(trend.slope_per_day), unit, 2)} per day (95 % interval ${num(trend.ci95[0], 2)} to ${num(trend.ci95[1], 2)}).`,
        round(trend.slope_per_day, 2),
        unit ? `${unit}/day` : 'per day',
        robot_id,
        'info',
        { summary: 1 },
      ),
    );
  }
}
