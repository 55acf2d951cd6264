import type { ReportSection, ReportTable } from '@tonypi/contracts';
import { correlation, dataBuckets, type SeriesStats, seriesStats, timeBeyond } from './analysis';
import { duration, num, round, withUnit } from './report-format';
import type { ReportSeriesInput } from './report-input';
import {
  type Context,
  DAY,
  emptySection,
  HOUR,
  line,
  servoLabel,
  sortServoSeries,
  TABLE_ROWS_MAX,
} from './section-context';

interface ServoFigures {
  robot_id: string;
  servo: string;
  temp: SeriesStats | null;
  tempSeries: ReportSeriesInput | null;
  aboveWarning_ms: number;
  aboveCritical_ms: number;
  peak: number | null;
}

/**
 * Servos (servos measurement per servo_id): temperature against the rule levels (time above warning/critical,
 * peak), supply voltage below its warning level, load and its correlation with temperature, position range; a
 * table per servo, bars of p95 temperature per servo, the hottest servos over time.
 */
export function servosSection(ctx: Context): ReportSection {
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
