import type { ReportChart, ReportSection, ReportSectionKey, ReportStatement } from '@tonypi/contracts';
import { dataBuckets, downsample, pooledStats, type SeriesStats } from './analysis';
import { iso, round } from './report-format';
import type { ReportBucket, ReportInput, ReportLevel, ReportSeriesInput } from './report-input';

/**
 * What the section builders (section-*.ts, run by sections.ts) share: the context of one report — its robots,
 * each robot's series cleaned once, the rule levels, the statement factory and the summary candidates — and the
 * chart helpers.
 */

export type Severity = ReportStatement['severity'];

export const SEVERITY_RANK: Record<Severity, number> = { critical: 2, warning: 1, info: 0 };
export const SECTION_TITLES: Record<ReportSectionKey, string> = {
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
export const CHART_LINES_MAX = 8;
/** Robots a section writes a sentence for each; beyond it only those with a finding. */
export const FEW_ROBOTS = 5;
export const TABLE_ROWS_MAX = 500;
/** Bars per bar chart at most (the lowest or highest, as the chart's title says). */
export const BARS_MAX = 30;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface Candidate {
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
export interface SummaryGroup {
  key: string;
  /** This finding in the merged sentence's list. */
  item: string;
  unit: string;
  text: (n: number, list: string) => string;
}

export class Context {
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
export function severityOf(value: number | null, level: ReportLevel | null): Severity {
  if (value === null || !level) return 'info';
  const beyond = (l: number | null) => l !== null && (level.direction === 'above' ? value >= l : value <= l);
  if (beyond(level.critical)) return 'critical';
  if (beyond(level.warning)) return 'warning';
  return 'info';
}

export function servoLabel(tags: Record<string, string>): string {
  return tags.servo_id ? `servo ${tags.servo_id}` : 'servo';
}

export function sortServoSeries(a: ReportSeriesInput, b: ReportSeriesInput): number {
  return Number(a.tags.servo_id ?? 0) - Number(b.tags.servo_id ?? 0) || a.field.localeCompare(b.field);
}

/**
 * A line series for a chart: the bucket averages, a null where the data stops for more than one and a half
 * buckets (the line breaks there instead of bridging a gap), at most CHART_POINTS_MAX points.
 */
export function line(
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
export function meanLine(series: readonly ReportSeriesInput[]): ReportBucket[] {
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
export function robotLines(
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

export function allStats(series: readonly ReportSeriesInput[]): SeriesStats | null {
  return pooledStats(series.map((s) => s.buckets));
}

export function emptySection(key: ReportSectionKey): ReportSection {
  return { key, title: SECTION_TITLES[key], statements: [], tables: [], charts: [] };
}
