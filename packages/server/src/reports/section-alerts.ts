import type { ReportSection } from '@tonypi/contracts';
import { alertStats } from './analysis';
import { duration, iso, round } from './report-format';
import { type Context, emptySection, HOUR } from './section-context';

/**
 * Alerts and incidents: counts by severity and type, total open time within the period, the alert that cost the
 * most time; tables by type and of the costliest alerts, bars by severity.
 */
export function alertsSection(ctx: Context): ReportSection {
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
