import type { ReportSection, ReportTable } from '@tonypi/contracts';
import { availability } from './analysis';
import { duration, iso, num, round, when } from './report-format';
import { BARS_MAX, type Context, emptySection, HOUR, type Severity, TABLE_ROWS_MAX } from './section-context';

/**
 * Availability: per robot the share of the period with data (from first_seen when it joined later), the missing
 * time and its gaps; a table per robot, a table of the gaps of 5 min or more, bars of the lowest robots.
 */
export function availabilitySection(ctx: Context): ReportSection {
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
        // One robot's own statement already says it.
        ctx.robots.length > 1 ? { summary: 5 } : {},
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
