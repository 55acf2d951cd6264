import type { ReportSection, ReportTable } from '@tonypi/contracts';
import { jobOutcome, jobStats } from './analysis';
import { duration, iso, num, round } from './report-format';
import { BARS_MAX, type Context, emptySection, type Severity, TABLE_ROWS_MAX } from './section-context';

/**
 * Jobs and productivity: success rate of the finished jobs, duration percentiles, items per hour of job time,
 * robots with a low success rate; tables per robot and of the failed jobs, items per robot, durations histogram.
 */
export function jobsSection(ctx: Context): ReportSection {
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
