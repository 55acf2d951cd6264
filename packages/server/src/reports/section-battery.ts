import type { ReportSection, ReportTable } from '@tonypi/contracts';
import { batteryAnalysis, seriesStats, timeBeyond } from './analysis';
import { duration, num, round, when, withUnit } from './report-format';
import type { ReportSeriesInput } from './report-input';
import { allStats, type Context, emptySection, HOUR, robotLines, type Severity } from './section-context';

/**
 * Battery health (battery.percent, voltage_v, charging): discharge rate while discharging, charge cycles, the
 * forecast to the low-battery rule's critical level, time below its warning level; a table and a charge chart.
 */
export function batterySection(ctx: Context): ReportSection {
  const sec = emptySection('battery');
  const level = ctx.level('battery', 'percent');
  const critical = level?.critical ?? 10;
  const rows: ReportTable['rows'] = [];
  const lines: Array<{ robot_id: string; series: ReportSeriesInput; rank: number }> = [];
  const rates: number[] = [];
  for (const robot_id of ctx.robots) {
    const pct = ctx.seriesOf(robot_id, 'battery', 'percent')[0];
    const volt = allStats(ctx.seriesOf(robot_id, 'battery', 'voltage_v'));
    const charging = ctx.seriesOf(robot_id, 'battery', 'charging')[0];
    const a = pct
      ? batteryAnalysis(pct.buckets, pct.bucket_ms, { critical, charging: charging?.buckets })
      : null;
    const stats = pct ? seriesStats(pct.buckets) : null;
    rows.push({
      robot_id,
      last_percent: round(a?.last, 1),
      min_percent: round(stats?.min, 1),
      discharge_percent_per_h: round(a?.discharge_rate_per_h, 2),
      charge_cycles: a ? a.charge_cycles : null,
      hours_to_critical: round(a?.hours_to_critical, 1),
      voltage_min_v: round(volt?.min, 2),
      voltage_avg_v: round(volt?.mean, 2),
    });
    if (!a || !stats || !pct) {
      sec.statements.push(
        ctx.statement(
          'battery',
          volt
            ? `No battery charge data from ${robot_id} in this period (voltage averaged ${withUnit(volt.mean, 'V', 2)}).`
            : `No battery data from ${robot_id} in this period.`,
          volt ? round(volt.mean, 2) : null,
          volt ? 'V' : null,
          robot_id,
        ),
      );
      continue;
    }
    lines.push({ robot_id, series: pct, rank: -stats.min });
    if (a.discharge_rate_per_h !== null) rates.push(a.discharge_rate_per_h);
    // The figures of every robot of a small scope; the findings against the levels follow for any scope.
    if (ctx.few) {
      sec.statements.push(
        ctx.statement(
          'battery',
          a.discharge_rate_per_h === null
            ? `${robot_id}: the battery did not discharge in this period (last ${withUnit(a.last, '%')}).`
            : `${robot_id}: the battery discharged at ${withUnit(a.discharge_rate_per_h, '%/h')} while discharging (${num(a.discharging_h)} h), ${a.charge_cycles} charge ${a.charge_cycles === 1 ? 'cycle' : 'cycles'}; lowest ${withUnit(stats.min, '%')}.`,
          round(a.discharge_rate_per_h, 1),
          '%/h',
          robot_id,
          'info',
          { summary: 4 },
        ),
      );
    }
    if (a.hours_to_critical !== null && a.critical_at !== null) {
      const hours = a.hours_to_critical;
      const severity: Severity = hours <= 0 ? 'critical' : hours <= 2 ? 'warning' : 'info';
      if (ctx.few || severity !== 'info')
        sec.statements.push(
          ctx.statement(
            'battery',
            hours <= 0
              ? `${robot_id}: the battery is at or below the critical ${withUnit(critical, '%', 0)} (last ${withUnit(a.last, '%')} at ${when(a.last_t)}).`
              : `${robot_id}: at the recent rate (${withUnit(a.recent_rate_per_h, '%/h')}) the battery reaches the critical ${withUnit(critical, '%', 0)} in ${duration(hours * HOUR)}, around ${when(a.critical_at)}.`,
            round(hours, 1),
            'h',
            robot_id,
            severity,
            {
              summary: 7,
              from: Math.max(ctx.input.from, a.last_t - 2 * HOUR),
              to: a.last_t,
              group:
                hours <= 0
                  ? {
                      key: 'battery.flat',
                      item: `${robot_id} (${withUnit(a.last, '%')})`,
                      unit: 'robots',
                      text: (n, list) =>
                        `${n} robots' batteries are at or below the critical ${withUnit(critical, '%', 0)}: ${list}.`,
                    }
                  : {
                      key: 'battery.forecast',
                      item: `${robot_id} (${duration(hours * HOUR)})`,
                      unit: 'robots',
                      text: (n, list) =>
                        `${n} robots' batteries reach the critical ${withUnit(critical, '%', 0)} on their recent trend: ${list}.`,
                    },
            },
          ),
        );
    }
    if (level?.warning != null) {
      const t = timeBeyond(pct.buckets, pct.bucket_ms, level.warning, 'below');
      if (t.ms > 0)
        sec.statements.push(
          ctx.statement(
            'battery',
            `${robot_id}: the battery was below the ${withUnit(level.warning, '%', 0)} warning level for ${duration(t.ms)}.`,
            round(t.ms / HOUR, 2),
            'h',
            robot_id,
            // Warning: a fall to the critical level has a statement (and a severity) of its own.
            'warning',
            {
              summary: 6,
              group: {
                key: 'battery.low',
                item: `${robot_id} (${duration(t.ms)})`,
                unit: 'robots',
                text: (n, list) =>
                  `${n} robots' batteries were below the ${withUnit(level.warning, '%', 0)} warning level: ${list}.`,
              },
            },
          ),
        );
    }
  }
  if (rates.length > 1) {
    const sorted = [...rates].sort((x, y) => x - y);
    const med = sorted[Math.floor((sorted.length - 1) / 2)]!;
    sec.statements.unshift(
      ctx.statement(
        'battery',
        `Median discharge rate across ${rates.length} robots: ${withUnit(med, '%/h')} (fastest ${withUnit(sorted[sorted.length - 1], '%/h')}).`,
        round(med, 1),
        '%/h',
        null,
        'info',
        { summary: 3 },
      ),
    );
  }
  sec.tables.push({
    title: 'Battery per robot',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      { key: 'last_percent', label: 'Last', unit: '%' },
      { key: 'min_percent', label: 'Lowest', unit: '%' },
      { key: 'discharge_percent_per_h', label: 'Discharge', unit: '%/h' },
      { key: 'charge_cycles', label: 'Charges', unit: null },
      { key: 'hours_to_critical', label: 'To critical', unit: 'h' },
      { key: 'voltage_min_v', label: 'Voltage min', unit: 'V' },
      { key: 'voltage_avg_v', label: 'Voltage avg', unit: 'V' },
    ],
    rows,
  });
  if (lines.length > 0)
    sec.charts.push({
      title: 'Battery charge over time',
      type: 'line',
      unit: '%',
      series: robotLines(lines),
    });
  return sec;
}
