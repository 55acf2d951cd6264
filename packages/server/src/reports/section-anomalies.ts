import type { ReportSection, ReportTable } from '@tonypi/contracts';
import { dataBuckets, robustAnomalies } from './analysis';
import { fieldLabel, fieldUnit, iso, round, when, withUnit } from './report-format';
import {
  type Context,
  emptySection,
  SEVERITY_RANK,
  servoLabel,
  severityOf,
  sortServoSeries,
  TABLE_ROWS_MAX,
} from './section-context';

/** Series tested for anomalies: the ones that should hover around a level (not counters or set-points). */
const ANOMALY_FIELDS: Record<string, readonly string[]> = {
  system: ['cpu_percent', 'memory_percent', 'cpu_temperature_c'],
  battery: ['voltage_v', 'current_a'],
  servos: ['temperature_c', 'voltage_v', 'load_percent'],
};

/**
 * Anomalies: robust z-score (median/MAD, |z| >= 3.5) on each series that should hover around a level, the
 * anomalous buckets listed with their time, value and the series' median, strongest first.
 */
export function anomaliesSection(ctx: Context): ReportSection {
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
