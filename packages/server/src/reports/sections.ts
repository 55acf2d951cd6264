import type {
  ReportChart,
  ReportDocument,
  ReportSection,
  ReportSectionKey,
  ReportStatement,
  ReportTable,
} from '@tonypi/contracts';
import {
  alertStats,
  availability,
  batteryAnalysis,
  correlation,
  dataBuckets,
  downsample,
  jobOutcome,
  jobStats,
  pooledStats,
  robustAnomalies,
  type SeriesStats,
  seriesStats,
  seriesTrend,
  timeBeyond,
} from './analysis';
import { duration, fieldLabel, fieldUnit, iso, num, round, when, withUnit } from './report-format';
import type { ReportBucket, ReportInput, ReportLevel, ReportSeriesInput } from './report-input';

/**
 * A ReportInput → a ReportDocument: one builder per section key, each writing statements (every one with its
 * figure, unit, period, robot and a severity taken from the alert rules' levels), tables and charts, then the
 * summary picked from all of them. Pure: the same input gives the same document.
 */

type Severity = ReportStatement['severity'];

const SEVERITY_RANK: Record<Severity, number> = { critical: 2, warning: 1, info: 0 };
const SECTION_TITLES: Record<ReportSectionKey, string> = {
  availability: 'Availability',
  performance: 'Performance',
  battery: 'Battery health',
  servos: 'Servos',
  jobs: 'Jobs and productivity',
  alerts: 'Alerts and incidents',
  anomalies: 'Anomalies',
};
/** Points per chart series at most (the PDF and the app draw them as they are). */
export const CHART_POINTS_MAX = 300;
/** Lines per time-series chart at most; beyond it a fleet chart shows the fleet mean and the extreme robots. */
const CHART_LINES_MAX = 8;
/** Robots a section writes a sentence for each; beyond it only those with a finding. */
const FEW_ROBOTS = 5;
const SUMMARY_MAX = 8;
const SUMMARY_PER_SECTION = 3;
const TABLE_ROWS_MAX = 500;
/** Bars per bar chart at most (the lowest or highest, as the chart's title says). */
const BARS_MAX = 30;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const PERFORMANCE_FIELDS = ['cpu_percent', 'memory_percent', 'disk_percent', 'cpu_temperature_c'] as const;
/** Series tested for anomalies: the ones that should hover around a level (not counters or set-points). */
const ANOMALY_FIELDS: Record<string, readonly string[]> = {
  system: ['cpu_percent', 'memory_percent', 'cpu_temperature_c'],
  battery: ['voltage_v', 'current_a'],
  servos: ['temperature_c', 'voltage_v', 'load_percent'],
};

interface Candidate {
  statement: ReportStatement;
  section: ReportSectionKey;
  /** Higher first among statements of the same severity. */
  priority: number;
  order: number;
  group?: SummaryGroup;
}

/**
 * Findings of one kind (a hot servo, a flat battery) that the summary merges into one sentence when several
 * robots or servos share them: "3 servos were above …: tonypi_01 servo 3 (2 h 10 min), …".
 */
interface SummaryGroup {
  key: string;
  /** This finding in the merged sentence's list. */
  item: string;
  unit: string;
  text: (n: number, list: string) => string;
}

class Context {
  readonly robots: string[];
  readonly few: boolean;
  readonly fromIso: string;
  readonly toIso: string;
  readonly candidates: Candidate[] = [];
  private readonly byRobot = new Map<string, ReportSeriesInput[]>();
  private order = 0;

  constructor(readonly input: ReportInput) {
    const ids = input.robots.map((r) => r.robot_id);
    for (const s of input.series) if (!ids.includes(s.robot_id)) ids.push(s.robot_id);
    this.robots = ids;
    this.few = ids.length <= FEW_ROBOTS;
    this.fromIso = iso(input.from);
    this.toIso = iso(input.to);
    // Each series is cleaned (buckets with data, in time order) once; every statistic reuses it.
    for (const raw of input.series) {
      const s = { ...raw, buckets: dataBuckets(raw.buckets) };
      const list = this.byRobot.get(s.robot_id) ?? [];
      list.push(s);
      this.byRobot.set(s.robot_id, list);
    }
  }

  /** The robot a report-wide statement is about when the report covers one. */
  singleRobot(): string | null {
    return this.input.scope.robot_id ?? (this.robots.length === 1 ? this.robots[0]! : null);
  }

  seriesOf(robot_id: string, measurement?: string, field?: string): ReportSeriesInput[] {
    return (this.byRobot.get(robot_id) ?? []).filter(
      (s) => (!measurement || s.measurement === measurement) && (!field || s.field === field),
    );
  }

  /** The rule level for a series: one for its exact tags first, then one for every series. */
  level(measurement: string, field: string, tags: Record<string, string> = {}): ReportLevel | null {
    const matching = this.input.levels.filter(
      (l) =>
        l.measurement === measurement &&
        l.field === field &&
        (l.tags === null || Object.entries(l.tags).every(([k, v]) => tags[k] === v)),
    );
    return (
      matching.find((l) => l.tags !== null && Object.keys(l.tags).length > 0) ??
      matching.find((l) => l.tags === null || Object.keys(l.tags).length === 0) ??
      null
    );
  }

  statement(
    section: ReportSectionKey,
    text: string,
    figure: number | null,
    unit: string | null,
    robot_id: string | null,
    severity: Severity = 'info',
    opts: { summary?: number; from?: number; to?: number; group?: SummaryGroup } = {},
  ): ReportStatement {
    const statement: ReportStatement = {
      text,
      figure: figure === null || !Number.isFinite(figure) ? null : figure,
      unit,
      from: opts.from === undefined ? this.fromIso : iso(opts.from),
      to: opts.to === undefined ? this.toIso : iso(opts.to),
      robot_id,
      severity,
    };
    if (opts.summary !== undefined)
      this.candidates.push({
        statement,
        section,
        priority: opts.summary,
        order: this.order++,
        ...(opts.group ? { group: opts.group } : {}),
      });
    return statement;
  }
}

/** Severity of a value against a level's warning and critical thresholds. */
function severityOf(value: number | null, level: ReportLevel | null): Severity {
  if (value === null || !level) return 'info';
  const beyond = (l: number | null) => l !== null && (level.direction === 'above' ? value >= l : value <= l);
  if (beyond(level.critical)) return 'critical';
  if (beyond(level.warning)) return 'warning';
  return 'info';
}

function worst(...s: Severity[]): Severity {
  return s.reduce((a, b) => (SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a), 'info');
}

function servoLabel(tags: Record<string, string>): string {
  return tags.servo_id ? `servo ${tags.servo_id}` : 'servo';
}

function sortServoSeries(a: ReportSeriesInput, b: ReportSeriesInput): number {
  return Number(a.tags.servo_id ?? 0) - Number(b.tags.servo_id ?? 0) || a.field.localeCompare(b.field);
}

/**
 * A line series for a chart: the bucket averages, a null where the data stops for more than one and a half
 * buckets (the line breaks there instead of bridging a gap), at most CHART_POINTS_MAX points.
 */
function line(
  name: string,
  buckets: readonly ReportBucket[],
  bucket_ms: number,
): ReportChart['series'][number] {
  const pts: Array<readonly [number, number | null]> = [];
  let prev: number | null = null;
  for (const b of dataBuckets(buckets)) {
    if (prev !== null && b.t - prev > 1.5 * bucket_ms) pts.push([prev + bucket_ms, null]);
    pts.push([b.t, b.avg]);
    prev = b.t;
  }
  return { name, points: downsample(pts, CHART_POINTS_MAX).map(([t, v]) => [t, round(v, 2)]) };
}

/** Count-weighted mean per bucket start over several series: the fleet's line. */
function meanLine(series: readonly ReportSeriesInput[]): ReportBucket[] {
  const acc = new Map<number, { sum: number; count: number }>();
  for (const s of series)
    for (const b of dataBuckets(s.buckets)) {
      const a = acc.get(b.t) ?? { sum: 0, count: 0 };
      a.sum += b.avg * b.count;
      a.count += b.count;
      acc.set(b.t, a);
    }
  return [...acc.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, a]) => ({ t, avg: a.sum / a.count, min: null, max: null, count: a.count }));
}

/**
 * The lines of a per-robot time-series chart: every robot when there are few; otherwise the fleet mean and the
 * robots ranked highest by `rank` (so a chart of 100 robots stays readable and small).
 */
function robotLines(
  perRobot: ReadonlyArray<{ robot_id: string; series: ReportSeriesInput; rank: number }>,
): ReportChart['series'] {
  if (perRobot.length <= CHART_LINES_MAX)
    return perRobot.map((r) => line(r.robot_id, r.series.buckets, r.series.bucket_ms));
  const top = [...perRobot].sort((a, b) => b.rank - a.rank).slice(0, CHART_LINES_MAX - 1);
  return [
    line(
      `fleet mean (${perRobot.length} robots)`,
      meanLine(perRobot.map((r) => r.series)),
      perRobot[0]!.series.bucket_ms,
    ),
    ...top.map((r) => line(r.robot_id, r.series.buckets, r.series.bucket_ms)),
  ];
}

function allStats(series: readonly ReportSeriesInput[]): SeriesStats | null {
  return pooledStats(series.map((s) => s.buckets));
}

function emptySection(key: ReportSectionKey): ReportSection {
  return { key, title: SECTION_TITLES[key], statements: [], tables: [], charts: [] };
}

// ---------------------------------------------------------------------------------------------------------------

function availabilitySection(ctx: Context): ReportSection {
  const sec = emptySection('availability');
  const { input } = ctx;
  const rows: ReportTable['rows'] = [];
  const gapRows: ReportTable['rows'] = [];
  const bars: Array<[string, number | null]> = [];
  const shares: number[] = [];
  for (const robot_id of ctx.robots) {
    const robot = input.robots.find((r) => r.robot_id === robot_id);
    const a = availability(ctx.seriesOf(robot_id), {
      from: input.from,
      to: input.to,
      first_seen: robot?.first_seen ?? null,
    });
    const pct = a.share === null ? null : a.share * 100;
    if (pct !== null) shares.push(pct);
    const longest = a.gaps.reduce((m, g) => Math.max(m, g.duration_ms), 0);
    rows.push({
      robot_id,
      availability_percent: round(pct, 1),
      missing_h: round(a.missing_ms / HOUR, 2),
      gaps: a.gaps.length,
      longest_gap_min: round(longest / 60_000, 0),
      counted_from: iso(a.counted_from),
    });
    bars.push([robot_id, round(pct, 1)]);
    for (const g of a.gaps)
      gapRows.push({
        robot_id,
        from: iso(g.from),
        to: iso(g.to),
        duration_min: round(g.duration_ms / 60_000, 0),
      });
    const period = { from: a.counted_from, to: a.counted_to };
    if (pct === null) {
      sec.statements.push(
        ctx.statement(
          'availability',
          `${robot_id} was first seen after this period: no availability to count.`,
          null,
          null,
          robot_id,
        ),
      );
      continue;
    }
    const severity: Severity = pct < 75 ? 'critical' : pct < 95 ? 'warning' : 'info';
    if (a.covered_ms === 0) {
      sec.statements.push(
        ctx.statement(
          'availability',
          `No data from ${robot_id} in this period.`,
          0,
          '%',
          robot_id,
          'critical',
          {
            ...period,
            summary: 10,
            group: {
              key: 'availability.none',
              item: robot_id,
              unit: 'robots',
              text: (n, list) => `No data from ${n} robots in this period: ${list}.`,
            },
          },
        ),
      );
      continue;
    }
    if (!ctx.few && severity === 'info') continue;
    const missing = a.missing_ms > 0 ? ` (${duration(a.missing_ms)} missing${gapWords(a.gaps.length)})` : '';
    sec.statements.push(
      ctx.statement(
        'availability',
        `${robot_id} sent data ${num(pct)} % of the time${missing}.`,
        round(pct, 1),
        '%',
        robot_id,
        severity,
        {
          ...period,
          summary: severity === 'info' ? 0 : 8,
          group: {
            key: 'availability.low',
            item: `${robot_id} (${num(pct)} %)`,
            unit: 'robots',
            text: (n, list) => `${n} robots sent data less than 95 % of the time: ${list}.`,
          },
        },
      ),
    );
    const gap = a.gaps.reduce<(typeof a.gaps)[number] | null>(
      (m, g) => (m === null || g.duration_ms > m.duration_ms ? g : m),
      null,
    );
    if (gap)
      sec.statements.push(
        ctx.statement(
          'availability',
          `${robot_id}'s longest gap lasted ${duration(gap.duration_ms)}, from ${when(gap.from)} to ${when(gap.to)}.`,
          round(gap.duration_ms / HOUR, 2),
          'h',
          robot_id,
          severity,
          { from: gap.from, to: gap.to },
        ),
      );
  }
  if (ctx.robots.length === 0)
    sec.statements.push(
      ctx.statement('availability', 'No robot in the scope of this report.', null, null, null),
    );
  else if (shares.length > 0) {
    const mean = shares.reduce((s, v) => s + v, 0) / shares.length;
    const below = shares.filter((s) => s < 95).length;
    sec.statements.unshift(
      ctx.statement(
        'availability',
        ctx.robots.length === 1
          ? `Availability was ${num(mean)} % over the period.`
          : `The ${ctx.robots.length} robots sent data ${num(mean)} % of the time on average; ${below} below 95 %.`,
        round(mean, 1),
        '%',
        ctx.robots.length === 1 ? ctx.robots[0]! : null,
        'info',
        { summary: 5 },
      ),
    );
  }
  sec.tables.push({
    title: 'Availability per robot',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      { key: 'availability_percent', label: 'Availability', unit: '%' },
      { key: 'missing_h', label: 'Missing', unit: 'h' },
      { key: 'gaps', label: 'Gaps', unit: null },
      { key: 'longest_gap_min', label: 'Longest gap', unit: 'min' },
      { key: 'counted_from', label: 'Counted from', unit: null },
    ],
    rows,
  });
  if (gapRows.length > 0)
    sec.tables.push({
      title: 'Offline gaps (5 min or longer)',
      columns: [
        { key: 'robot_id', label: 'Robot', unit: null },
        { key: 'from', label: 'From', unit: null },
        { key: 'to', label: 'To', unit: null },
        { key: 'duration_min', label: 'Duration', unit: 'min' },
      ],
      rows: gapRows.slice(0, TABLE_ROWS_MAX),
    });
  if (bars.length > 1)
    sec.charts.push({
      title:
        bars.length > BARS_MAX ? `Availability: the ${BARS_MAX} lowest robots` : 'Availability per robot',
      type: 'bar',
      unit: '%',
      series: [
        {
          name: 'availability',
          points:
            bars.length > BARS_MAX
              ? [...bars].sort((a, b) => (a[1] ?? -1) - (b[1] ?? -1)).slice(0, BARS_MAX)
              : bars,
        },
      ],
    });
  return sec;
}

function gapWords(n: number): string {
  return n === 0 ? '' : n === 1 ? ' in 1 gap' : ` in ${n} gaps`;
}

// ---------------------------------------------------------------------------------------------------------------

function performanceSection(ctx: Context): ReportSection {
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

// ---------------------------------------------------------------------------------------------------------------

function batterySection(ctx: Context): ReportSection {
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
            worst('warning', severityOf(stats.min, level)),
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

// ---------------------------------------------------------------------------------------------------------------

interface ServoFigures {
  robot_id: string;
  servo: string;
  temp: SeriesStats | null;
  tempSeries: ReportSeriesInput | null;
  aboveWarning_ms: number;
  aboveCritical_ms: number;
  peak: number | null;
}

function servosSection(ctx: Context): ReportSection {
  const sec = emptySection('servos');
  const rows: ReportTable['rows'] = [];
  const figures: ServoFigures[] = [];
  for (const robot_id of ctx.robots) {
    const all = ctx.seriesOf(robot_id, 'servos').sort(sortServoSeries);
    const servoIds = [...new Set(all.map((s) => s.tags.servo_id ?? ''))];
    if (all.every((s) => dataBuckets(s.buckets).length === 0)) {
      sec.statements.push(
        ctx.statement('servos', `No servo data from ${robot_id} in this period.`, null, null, robot_id),
      );
      continue;
    }
    for (const id of servoIds) {
      const tags: Record<string, string> = id ? { servo_id: id } : {};
      const of = (field: string) =>
        all.find((s) => s.field === field && (s.tags.servo_id ?? '') === id) ?? null;
      const temp = of('temperature_c');
      const volt = of('voltage_v');
      const load = of('load_percent');
      const pos = of('position');
      const tStats = temp ? seriesStats(temp.buckets) : null;
      const vStats = volt ? seriesStats(volt.buckets) : null;
      const lStats = load ? seriesStats(load.buckets) : null;
      const pStats = pos ? seriesStats(pos.buckets) : null;
      const tLevel = ctx.level('servos', 'temperature_c', tags);
      const vLevel = ctx.level('servos', 'voltage_v', tags);
      const warnT =
        temp && tLevel?.warning != null
          ? timeBeyond(temp.buckets, temp.bucket_ms, tLevel.warning, tLevel.direction)
          : null;
      const critT =
        temp && tLevel?.critical != null
          ? timeBeyond(temp.buckets, temp.bucket_ms, tLevel.critical, tLevel.direction)
          : null;
      const warnV =
        volt && vLevel?.warning != null
          ? timeBeyond(volt.buckets, volt.bucket_ms, vLevel.warning, vLevel.direction)
          : null;
      const r = temp && load ? correlation(temp.buckets, load.buckets) : null;
      const name = servoLabel(tags);
      figures.push({
        robot_id,
        servo: name,
        temp: tStats,
        tempSeries: temp,
        aboveWarning_ms: warnT?.ms ?? 0,
        aboveCritical_ms: critT?.ms ?? 0,
        peak: tStats?.max ?? null,
      });
      rows.push({
        robot_id,
        servo_id: id || null,
        temperature_avg_c: round(tStats?.mean, 1),
        temperature_p95_c: round(tStats?.p95, 1),
        temperature_max_c: round(tStats?.max, 1),
        above_warning_min: warnT ? round(warnT.ms / 60_000, 0) : null,
        above_critical_min: critT ? round(critT.ms / 60_000, 0) : null,
        voltage_min_v: round(vStats?.min, 2),
        voltage_avg_v: round(vStats?.mean, 2),
        below_voltage_warning_min: warnV ? round(warnV.ms / 60_000, 0) : null,
        load_avg_percent: round(lStats?.mean, 1),
        position_range: pStats ? round(pStats.max - pStats.min, 0) : null,
        temp_load_r: round(r, 2),
      });
      if (warnT && warnT.ms > 0 && tLevel) {
        const crit = critT && critT.ms > 0;
        sec.statements.push(
          ctx.statement(
            'servos',
            `${robot_id} ${name} was above the ${withUnit(tLevel.warning, '°C', 0)} warning level for ${duration(warnT.ms)} (${num((warnT.share ?? 0) * 100)} % of the time with data), peaking at ${withUnit(warnT.worst, '°C')}${crit ? `; ${duration(critT.ms)} above the critical ${withUnit(tLevel.critical, '°C', 0)}` : ''}.`,
            round(warnT.ms / HOUR, 2),
            'h',
            robot_id,
            crit ? 'critical' : 'warning',
            {
              summary: 9 + Math.min(warnT.ms / DAY, 1),
              group: {
                key: 'servos.hot',
                item: `${robot_id} ${name} (${duration(warnT.ms)})`,
                unit: 'servos',
                text: (n, list) =>
                  `${n} servos were above the ${withUnit(tLevel.warning, '°C', 0)} warning level: ${list}.`,
              },
            },
          ),
        );
        if (r !== null && Math.abs(r) >= 0.5)
          sec.statements.push(
            ctx.statement(
              'servos',
              `${robot_id} ${name}: temperature follows load (r = ${num(r, 2)}; load averaged ${withUnit(lStats?.mean, '%')}).`,
              round(r, 2),
              null,
              robot_id,
              'info',
            ),
          );
      }
      if (warnV && warnV.ms > 0 && vLevel)
        sec.statements.push(
          ctx.statement(
            'servos',
            `${robot_id} ${name}: the supply was below the ${withUnit(vLevel.warning, 'V', 1)} warning level for ${duration(warnV.ms)} (lowest ${withUnit(vStats?.min, 'V', 2)}).`,
            round(warnV.ms / HOUR, 2),
            'h',
            robot_id,
            vStats && vLevel.critical !== null && vStats.min <= vLevel.critical ? 'critical' : 'warning',
            {
              summary: 7,
              group: {
                key: 'servos.voltage',
                item: `${robot_id} ${name} (${duration(warnV.ms)})`,
                unit: 'servos',
                text: (n, list) =>
                  `${n} servos' supply was below the ${withUnit(vLevel.warning, 'V', 1)} warning level: ${list}.`,
              },
            },
          ),
        );
    }
  }
  const withTemp = figures.filter((f) => f.temp !== null);
  const hottest = [...withTemp].sort((a, b) => b.temp!.p95 - a.temp!.p95);
  if (hottest[0]) {
    const h = hottest[0];
    sec.statements.unshift(
      ctx.statement(
        'servos',
        `Hottest servo: ${h.robot_id} ${h.servo}, averaging ${withUnit(h.temp!.mean, '°C')} (p95 ${withUnit(h.temp!.p95, '°C')}); ${figures.filter((f) => f.aboveWarning_ms > 0).length} of ${withTemp.length} servos went above the warning level.`,
        round(h.temp!.mean, 1),
        '°C',
        h.robot_id,
        'info',
        { summary: 2 },
      ),
    );
  } else if (figures.length === 0 && ctx.robots.length === 0)
    sec.statements.push(ctx.statement('servos', 'No robot in the scope of this report.', null, null, null));
  sec.tables.push({
    title: 'Servos',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      { key: 'servo_id', label: 'Servo', unit: null },
      { key: 'temperature_avg_c', label: 'Temp avg', unit: '°C' },
      { key: 'temperature_p95_c', label: 'Temp p95', unit: '°C' },
      { key: 'temperature_max_c', label: 'Temp max', unit: '°C' },
      { key: 'above_warning_min', label: 'Above warning', unit: 'min' },
      { key: 'above_critical_min', label: 'Above critical', unit: 'min' },
      { key: 'voltage_min_v', label: 'Voltage min', unit: 'V' },
      { key: 'voltage_avg_v', label: 'Voltage avg', unit: 'V' },
      { key: 'below_voltage_warning_min', label: 'Low voltage', unit: 'min' },
      { key: 'load_avg_percent', label: 'Load avg', unit: '%' },
      { key: 'position_range', label: 'Position range', unit: null },
      { key: 'temp_load_r', label: 'r(temp, load)', unit: null },
    ],
    rows: rows.slice(0, TABLE_ROWS_MAX * 2),
  });
  if (hottest.length > 0) {
    const multi = ctx.robots.length > 1;
    sec.charts.push({
      title: multi ? 'Servo temperature p95 (hottest 24 servos)' : 'Servo temperature p95 per servo',
      type: 'bar',
      unit: '°C',
      series: [
        {
          name: 'p95',
          points: (multi ? hottest.slice(0, 24) : withTemp).map((f) => [
            multi ? `${f.robot_id} ${f.servo}` : f.servo,
            round(f.temp!.p95, 1),
          ]),
        },
      ],
    });
    const hot = hottest.slice(0, 5).filter((f) => f.tempSeries);
    sec.charts.push({
      title: 'Temperature of the hottest servos',
      type: 'line',
      unit: '°C',
      series: hot.map((f) =>
        line(multi ? `${f.robot_id} ${f.servo}` : f.servo, f.tempSeries!.buckets, f.tempSeries!.bucket_ms),
      ),
    });
  }
  return sec;
}

// ---------------------------------------------------------------------------------------------------------------

function jobsSection(ctx: Context): ReportSection {
  const sec = emptySection('jobs');
  const { input } = ctx;
  const all = jobStats(input.jobs, input.from, input.to);
  const finished = all.completed + all.failed + all.cancelled;
  if (all.total === 0)
    sec.statements.push(
      ctx.statement('jobs', 'No jobs ran in this period.', 0, 'jobs', ctx.singleRobot(), 'info', {
        summary: 0,
      }),
    );
  else {
    const rate = all.success_rate === null ? null : all.success_rate * 100;
    const severity: Severity =
      rate === null ? 'info' : rate < 50 ? 'critical' : rate < 80 ? 'warning' : 'info';
    sec.statements.push(
      ctx.statement(
        'jobs',
        rate === null
          ? `${all.total} ${all.total === 1 ? 'job' : 'jobs'} started, none finished yet.`
          : `${all.total} jobs: ${num(rate)} % of the ${finished} finished succeeded (${all.completed} succeeded, ${all.failed} failed, ${all.cancelled} cancelled${all.running ? `, ${all.running} still running` : ''}).`,
        round(rate, 1),
        '%',
        ctx.singleRobot(),
        severity,
        { summary: 5 },
      ),
    );
    if (all.duration_p50_ms !== null)
      sec.statements.push(
        ctx.statement(
          'jobs',
          `Job durations: median ${duration(all.duration_p50_ms)}, p95 ${duration(all.duration_p95_ms)}, longest ${duration(all.duration_max_ms)}.`,
          round(all.duration_p50_ms / 60_000, 1),
          'min',
          ctx.singleRobot(),
        ),
      );
    sec.statements.push(
      ctx.statement(
        'jobs',
        all.items_per_hour === null
          ? `${all.items} items handled.`
          : `${all.items} items handled: ${num(all.items_per_hour)} items per hour of job time (${num(all.working_h)} h in jobs).`,
        all.items_per_hour === null ? all.items : round(all.items_per_hour, 1),
        all.items_per_hour === null ? 'items' : 'items/h',
        ctx.singleRobot(),
        'info',
        { summary: 2 },
      ),
    );
  }
  const rows: ReportTable['rows'] = [];
  const bars: Array<[string, number | null]> = [];
  for (const robot_id of ctx.robots) {
    const jobs = input.jobs.filter((j) => j.robot_id === robot_id);
    const s = jobStats(jobs, input.from, input.to);
    rows.push({
      robot_id,
      jobs: s.total,
      succeeded: s.completed,
      failed: s.failed,
      cancelled: s.cancelled,
      success_percent: s.success_rate === null ? null : round(s.success_rate * 100, 1),
      duration_p50_min: s.duration_p50_ms === null ? null : round(s.duration_p50_ms / 60_000, 1),
      items: s.items,
      items_per_hour: round(s.items_per_hour, 1),
    });
    bars.push([robot_id, s.items]);
    if (ctx.robots.length > 1 && s.success_rate !== null && s.success_rate < 0.8 && s.failed > 0)
      sec.statements.push(
        ctx.statement(
          'jobs',
          `${robot_id}: ${num(s.success_rate * 100)} % of its ${s.completed + s.failed + s.cancelled} finished jobs succeeded.`,
          round(s.success_rate * 100, 1),
          '%',
          robot_id,
          s.success_rate < 0.5 ? 'critical' : 'warning',
          {
            summary: 4,
            group: {
              key: 'jobs.robot',
              item: `${robot_id} (${num(s.success_rate * 100)} %)`,
              unit: 'robots',
              text: (n, list) => `${n} robots had fewer than 80 % of their jobs succeed: ${list}.`,
            },
          },
        ),
      );
  }
  const failedRows = input.jobs
    .filter((j) => jobOutcome(j) === 'failed')
    .slice(0, TABLE_ROWS_MAX)
    .map((j) => ({
      id: j.id,
      robot_id: j.robot_id,
      task_name: j.task_name,
      status: j.status,
      started: iso(j.start_time),
      duration_min: j.end_time === null ? null : round((j.end_time - j.start_time) / 60_000, 1),
      items: j.items_done,
    }));
  sec.tables.push({
    title: 'Jobs per robot',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      { key: 'jobs', label: 'Jobs', unit: null },
      { key: 'succeeded', label: 'Succeeded', unit: null },
      { key: 'failed', label: 'Failed', unit: null },
      { key: 'cancelled', label: 'Cancelled', unit: null },
      { key: 'success_percent', label: 'Success', unit: '%' },
      { key: 'duration_p50_min', label: 'Median duration', unit: 'min' },
      { key: 'items', label: 'Items', unit: null },
      { key: 'items_per_hour', label: 'Items per hour', unit: 'items/h' },
    ],
    rows,
  });
  if (failedRows.length > 0)
    sec.tables.push({
      title: 'Failed jobs',
      columns: [
        { key: 'id', label: 'Job', unit: null },
        { key: 'robot_id', label: 'Robot', unit: null },
        { key: 'task_name', label: 'Task', unit: null },
        { key: 'status', label: 'Status', unit: null },
        { key: 'started', label: 'Started', unit: null },
        { key: 'duration_min', label: 'Duration', unit: 'min' },
        { key: 'items', label: 'Items', unit: null },
      ],
      rows: failedRows,
    });
  if (all.total > 0 && bars.length > 1)
    sec.charts.push({
      title:
        bars.length > BARS_MAX ? `Items handled: the ${BARS_MAX} busiest robots` : 'Items handled per robot',
      type: 'bar',
      unit: 'items',
      series: [{ name: 'items', points: bars.sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)).slice(0, BARS_MAX) }],
    });
  const histogram = durationHistogram(
    input.jobs
      .filter((j) => j.end_time !== null && j.end_time >= j.start_time)
      .map((j) => j.end_time! - j.start_time),
  );
  if (histogram)
    sec.charts.push({
      title: 'Distribution of job durations',
      type: 'bar',
      unit: 'jobs',
      series: [{ name: 'jobs', points: histogram }],
    });
  return sec;
}

/** Finished jobs counted per duration bin of a round width (1, 2 or 5 × 10^k minutes), ≤ 12 bins. */
export function durationHistogram(durations_ms: readonly number[]): Array<[string, number]> | null {
  if (durations_ms.length < 2) return null;
  const minutes = durations_ms.map((d) => d / 60_000);
  const max = Math.max(...minutes);
  if (!(max > 0)) return null;
  const raw = max / 10;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const width = [1, 2, 5, 10].map((m) => m * mag).find((w) => max / w < 12) ?? 10 * mag;
  const bins = Math.floor(max / width) + 1;
  const counts = new Array<number>(bins).fill(0);
  for (const m of minutes) counts[Math.min(Math.floor(m / width), bins - 1)]!++;
  const label = (v: number) => String(Number(v.toPrecision(6)));
  return counts.map((c, i) => [`${label(i * width)}–${label((i + 1) * width)} min`, c]);
}

// ---------------------------------------------------------------------------------------------------------------

function alertsSection(ctx: Context): ReportSection {
  const sec = emptySection('alerts');
  const { input } = ctx;
  const s = alertStats(input.alerts, input.from, input.to, 10);
  if (s.total === 0)
    sec.statements.push(
      ctx.statement('alerts', 'No alert was raised in this period.', 0, 'alerts', ctx.singleRobot(), 'info', {
        summary: 1,
      }),
    );
  else {
    const { critical, warning, info } = s.by_severity;
    sec.statements.push(
      ctx.statement(
        'alerts',
        `${s.total} ${s.total === 1 ? 'alert' : 'alerts'} in this period: ${critical} critical, ${warning} warning, ${info} info.`,
        s.total,
        'alerts',
        ctx.singleRobot(),
        critical > 0 ? 'critical' : warning > 0 ? 'warning' : 'info',
        { summary: critical > 0 ? 8 : 3 },
      ),
    );
    sec.statements.push(
      ctx.statement(
        'alerts',
        `Alerts were open for ${duration(s.total_open_ms)} in total${s.still_open ? `; ${s.still_open} still open at the end of the period` : ''}.`,
        round(s.total_open_ms / HOUR, 2),
        'h',
        ctx.singleRobot(),
        s.still_open > 0 ? 'warning' : 'info',
      ),
    );
    const [topType, topCount] = Object.entries(s.by_type).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    )[0]!;
    if (Object.keys(s.by_type).length > 1)
      sec.statements.push(
        ctx.statement(
          'alerts',
          `The most frequent alert type was ${topType}: ${topCount} of ${s.total}.`,
          topCount,
          'alerts',
          ctx.singleRobot(),
        ),
      );
    if (s.longest && s.longest.open_ms > 0) {
      const a = s.longest.alert;
      sec.statements.push(
        ctx.statement(
          'alerts',
          `The alert that cost the most time: "${a.title}"${a.robot_id ? ` on ${a.robot_id}` : ''}, open ${duration(s.longest.open_ms)}${s.longest.still_open ? ' and still open' : ''}.`,
          round(s.longest.open_ms / HOUR, 2),
          'h',
          a.robot_id,
          a.severity,
          {
            summary: 5,
            from: Math.max(a.created_at, input.from),
            to: Math.min(a.resolved_at ?? input.to, input.to),
          },
        ),
      );
    }
  }
  const typeRows = Object.entries(s.by_type)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([alert_type, count]) => {
      const open = input.alerts
        .filter((a) => a.alert_type === alert_type)
        .reduce(
          (sum, a) =>
            sum +
            Math.max(Math.min(a.resolved_at ?? input.to, input.to) - Math.max(a.created_at, input.from), 0),
          0,
        );
      return { alert_type, count, open_h: round(open / HOUR, 2) };
    });
  sec.tables.push({
    title: 'Alerts by type',
    columns: [
      { key: 'alert_type', label: 'Type', unit: null },
      { key: 'count', label: 'Count', unit: null },
      { key: 'open_h', label: 'Open time', unit: 'h' },
    ],
    rows: typeRows,
  });
  if (s.costliest.length > 0)
    sec.tables.push({
      title: 'The alerts that cost the most time',
      columns: [
        { key: 'id', label: 'Alert', unit: null },
        { key: 'robot_id', label: 'Robot', unit: null },
        { key: 'severity', label: 'Severity', unit: null },
        { key: 'title', label: 'Title', unit: null },
        { key: 'created_at', label: 'Opened', unit: null },
        { key: 'resolved_at', label: 'Resolved', unit: null },
        { key: 'open_h', label: 'Open', unit: 'h' },
      ],
      rows: s.costliest.map((c) => ({
        id: c.alert.id,
        robot_id: c.alert.robot_id,
        severity: c.alert.severity,
        title: c.alert.title,
        created_at: iso(c.alert.created_at),
        resolved_at: c.alert.resolved_at === null ? null : iso(c.alert.resolved_at),
        open_h: round(c.open_ms / HOUR, 2),
      })),
    });
  if (s.total > 0)
    sec.charts.push({
      title: 'Alerts by severity',
      type: 'bar',
      unit: 'alerts',
      series: [
        {
          name: 'alerts',
          points: [
            ['critical', s.by_severity.critical],
            ['warning', s.by_severity.warning],
            ['info', s.by_severity.info],
          ],
        },
      ],
    });
  return sec;
}

// ---------------------------------------------------------------------------------------------------------------

function anomaliesSection(ctx: Context): ReportSection {
  const sec = emptySection('anomalies');
  const rows: Array<ReportTable['rows'][number] & { z: number }> = [];
  let tested = 0;
  let found = 0;
  for (const robot_id of ctx.robots)
    for (const s of ctx.seriesOf(robot_id).sort(sortServoSeries)) {
      if (!ANOMALY_FIELDS[s.measurement]?.includes(s.field)) continue;
      if (dataBuckets(s.buckets).length < 5) continue;
      tested++;
      const anomalies = robustAnomalies(s.buckets);
      if (anomalies.length === 0) continue;
      found += anomalies.length;
      const unit = fieldUnit(s.measurement, s.field);
      const label = `${s.tags.servo_id ? `${servoLabel(s.tags)} ` : ''}${fieldLabel(s.measurement, s.field)}`;
      const top = anomalies.reduce((m, a) => (Math.abs(a.z) > Math.abs(m.z) ? a : m));
      const level = ctx.level(s.measurement, s.field, s.tags);
      const severity = severityOf(top.value, level);
      const first = anomalies[0]!;
      const last = anomalies[anomalies.length - 1]!;
      sec.statements.push(
        ctx.statement(
          'anomalies',
          `${robot_id} ${label}: ${anomalies.length} ${anomalies.length === 1 ? 'minute' : 'minutes'} out of the ordinary (robust z ≥ 3.5), the strongest ${withUnit(top.value, unit)} at ${when(top.t)} against a median of ${withUnit(top.median, unit)}.`,
          anomalies.length,
          'anomalies',
          robot_id,
          severity,
          { summary: 3 + Math.min(anomalies.length, 5) / 10, from: first.t, to: last.t + s.bucket_ms },
        ),
      );
      for (const a of anomalies)
        rows.push({
          robot_id,
          series: `${s.measurement}.${s.field}${s.tags.servo_id ? ` servo ${s.tags.servo_id}` : ''}`,
          time: iso(a.t),
          value: round(a.value, 2),
          median: round(a.median, 2),
          robust_z: round(a.z, 1),
          unit,
          z: Math.abs(a.z),
        });
    }
  sec.statements.unshift(
    ctx.statement(
      'anomalies',
      tested === 0
        ? 'No minute roll-ups to test for anomalies in this period.'
        : found === 0
          ? `No anomalies in ${tested} series tested (robust z-score on minute roll-ups, threshold 3.5).`
          : `${found} anomalous ${found === 1 ? 'minute' : 'minutes'} in ${tested} series tested (robust z-score on minute roll-ups, threshold 3.5).`,
      found,
      'anomalies',
      ctx.singleRobot(),
      'info',
      { summary: found > 0 ? 2 : 0 },
    ),
  );
  if (sec.statements.length > 1 + 40) {
    // A fleet report lists the strongest findings; the table has the rest.
    const [head, ...rest] = sec.statements;
    sec.statements = [
      head!,
      ...rest.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]).slice(0, 40),
    ];
  }
  rows.sort((a, b) => b.z - a.z);
  sec.tables.push({
    title: 'Anomalies (strongest first)',
    columns: [
      { key: 'robot_id', label: 'Robot', unit: null },
      { key: 'series', label: 'Series', unit: null },
      { key: 'time', label: 'Minute', unit: null },
      { key: 'value', label: 'Value', unit: null },
      { key: 'median', label: 'Median', unit: null },
      { key: 'robust_z', label: 'Robust z', unit: null },
      { key: 'unit', label: 'Unit', unit: null },
    ],
    rows: rows.slice(0, TABLE_ROWS_MAX).map(({ z: _z, ...r }) => r),
  });
  return sec;
}

// ---------------------------------------------------------------------------------------------------------------

const BUILDERS: Record<ReportSectionKey, (ctx: Context) => ReportSection> = {
  availability: availabilitySection,
  performance: performanceSection,
  battery: batterySection,
  servos: servosSection,
  jobs: jobsSection,
  alerts: alertsSection,
  anomalies: anomaliesSection,
};

const LIST_MAX = 5;

/** Candidates of one group and severity, two or more, become one statement listing them. */
function mergeGroups(candidates: readonly Candidate[]): Candidate[] {
  const groups = new Map<string, Candidate[]>();
  const out: Candidate[] = [];
  for (const c of candidates) {
    if (!c.group) {
      out.push(c);
      continue;
    }
    const key = `${c.group.key}:${c.statement.severity}`;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  for (const members of groups.values()) {
    const first = members[0]!;
    if (members.length === 1) {
      out.push(first);
      continue;
    }
    const items = members.map((m) => m.group!.item);
    const list =
      items.length > LIST_MAX
        ? `${items.slice(0, LIST_MAX).join(', ')} and ${items.length - LIST_MAX} more`
        : items.join(', ');
    const robots = new Set(members.map((m) => m.statement.robot_id));
    out.push({
      statement: {
        text: first.group!.text(members.length, list),
        figure: members.length,
        unit: first.group!.unit,
        from: members.map((m) => m.statement.from).sort()[0]!,
        to: members
          .map((m) => m.statement.to)
          .sort()
          .at(-1)!,
        robot_id: robots.size === 1 ? first.statement.robot_id : null,
        severity: first.statement.severity,
      },
      section: first.section,
      priority: Math.max(...members.map((m) => m.priority)),
      order: first.order,
    });
  }
  return out;
}

/** The summary: critical first, then warning, then the headline figures; at most 3 from one section, ≤ 8. */
function pickSummary(all: readonly Candidate[]): ReportStatement[] {
  const candidates = mergeGroups(all);
  const sorted = [...candidates].sort(
    (a, b) =>
      SEVERITY_RANK[b.statement.severity] - SEVERITY_RANK[a.statement.severity] ||
      b.priority - a.priority ||
      a.order - b.order,
  );
  const picked: Candidate[] = [];
  const perSection = new Map<ReportSectionKey, number>();
  for (const c of sorted) {
    if (picked.length >= SUMMARY_MAX) break;
    const n = perSection.get(c.section) ?? 0;
    if (n >= SUMMARY_PER_SECTION) continue;
    perSection.set(c.section, n + 1);
    picked.push(c);
  }
  for (const c of sorted) {
    if (picked.length >= SUMMARY_MAX) break;
    if (!picked.includes(c)) picked.push(c);
  }
  return picked
    .sort(
      (a, b) =>
        SEVERITY_RANK[b.statement.severity] - SEVERITY_RANK[a.statement.severity] ||
        b.priority - a.priority ||
        a.order - b.order,
    )
    .map((c) => c.statement);
}

export function buildReport(input: ReportInput): ReportDocument {
  const ctx = new Context(input);
  const sections = input.sections.map((key) => BUILDERS[key](ctx));
  return {
    title: input.title,
    kind: input.kind,
    scope: { robot_id: input.scope.robot_id, tag: input.scope.tag, robots: ctx.robots },
    from: ctx.fromIso,
    to: ctx.toIso,
    generated_at: iso(input.generated_at),
    summary: pickSummary(ctx.candidates),
    sections,
    ai: null,
    ai_note: null,
  };
}
