import { KIND_SECTIONS, ReportDocument, type ReportSectionKey } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { generatedInput, HOUR, MINUTE, T0 } from './report-fixtures';
import { duration, num } from './report-format';
import { CHART_POINTS_MAX } from './section-context';
import { durationHistogram } from './section-jobs';
import { buildReport } from './sections';

function section(doc: ReportDocument, key: ReportSectionKey) {
  const s = doc.sections.find((x) => x.key === key);
  if (!s) throw new Error(`no ${key} section`);
  return s;
}

/** Every number, text and time in the document is a real value: no NaN, undefined or Infinity anywhere. */
function expectClean(doc: ReportDocument) {
  expect(() => ReportDocument.parse(doc)).not.toThrow();
  const json = JSON.stringify(doc);
  expect(json).not.toMatch(/NaN|undefined|Infinity|null %|n\/a/);
  const walk = (v: unknown): void => {
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(doc);
}

describe('buildReport', () => {
  it('puts a robot whose servo 3 runs hot in the servo section and the summary, with the time above the warning', () => {
    const input = generatedInput([{ robot_id: 'tonypi_01', hotServos: ['3'] }], {
      kind: 'servo_maintenance',
    });
    const doc = buildReport({ ...input, sections: KIND_SECTIONS.servo_maintenance });
    expectClean(doc);
    const servos = section(doc, 'servos');
    const hot = servos.statements.find((s) => s.text.includes('servo 3 was above the 60 °C warning level'));
    expect(hot).toBeDefined();
    expect(hot).toMatchObject({ robot_id: 'tonypi_01', severity: 'warning', unit: 'h' });
    expect(hot!.figure).toBeCloseTo(24, 1);
    expect(hot!.text).toContain(duration(24 * HOUR));
    expect(hot!.from).toBe(new Date(T0).toISOString());
    expect(servos.statements.some((s) => /servo [12456] was above/.test(s.text))).toBe(false);
    expect(doc.summary[0]).toBe(hot);
    const row = servos.tables[0]!.rows.find((r) => r.servo_id === '3')!;
    expect(row.above_warning_min).toBe(24 * 60);
    expect(row.temperature_avg_c).toBeCloseTo(68, 0);
    const bars = servos.charts.find((c) => c.type === 'bar')!;
    expect(bars.series[0]!.points).toHaveLength(6);
    expect(bars.series[0]!.points.find(([l]) => l === 'servo 3')![1]).toBeGreaterThan(60);
  });

  it('gives a declining battery its discharge rate and a forecast to the critical level', () => {
    // 90 % falling 2 %/h for 24 h: 42 % at the end, 16 h to the critical 10 %.
    const doc = buildReport({
      ...generatedInput([{ robot_id: 'tonypi_01', battery: { start: 90, perHour: 2 } }]),
      sections: ['battery'],
    });
    expectClean(doc);
    const battery = section(doc, 'battery');
    const rate = battery.statements.find((s) => s.text.includes('discharged at'))!;
    expect(rate.figure).toBeCloseTo(2, 1);
    expect(rate.text).toContain('2.0 %/h');
    expect(rate.unit).toBe('%/h');
    const forecast = battery.statements.find((s) => s.text.includes('reaches the critical 10 %'))!;
    expect(forecast.figure).toBeCloseTo(16, 0);
    expect(forecast.unit).toBe('h');
    expect(forecast.text).toMatch(/in 1[56] h \d\d min, around 2026-11-2[45] \d\d:\d\d UTC/);
    expect(battery.tables[0]!.rows[0]).toMatchObject({ charge_cycles: 0 });
    expect(battery.tables[0]!.rows[0]!.last_percent).toBeCloseTo(42, 0);
    expect(doc.summary).toContain(forecast);
  });

  it('shows a robot offline for 2 h with ~2 h of missing availability and the gap', () => {
    const doc = buildReport({
      ...generatedInput([{ robot_id: 'tonypi_01', offline: [[600, 720]] }]),
      sections: ['availability'],
    });
    expectClean(doc);
    const av = section(doc, 'availability');
    const share = av.statements.find((s) => s.text.startsWith('tonypi_01 sent data'))!;
    expect(share.figure).toBeCloseTo(91.7, 1);
    expect(share.text).toBe('tonypi_01 sent data 91.7 % of the time (2 h 00 min missing in 1 gap).');
    expect(share.severity).toBe('warning');
    const gap = av.statements.find((s) => s.text.includes('longest gap'))!;
    expect(gap.figure).toBe(2);
    expect(gap.from).toBe(new Date(T0 + 600 * MINUTE).toISOString());
    expect(gap.to).toBe(new Date(T0 + 720 * MINUTE).toISOString());
    expect(av.tables[0]!.rows[0]).toMatchObject({ missing_h: 2, gaps: 1, longest_gap_min: 120 });
    expect(av.tables[1]!.rows).toHaveLength(1);
    expect(doc.summary).toContain(share);
  });

  it('lists all 3 robots of a fleet report in every per-robot table', () => {
    const doc = buildReport(
      generatedInput([
        { robot_id: 'tonypi_01' },
        { robot_id: 'tonypi_02', hotServos: ['1'] },
        { robot_id: 'tonypi_03' },
      ]),
    );
    expectClean(doc);
    expect(doc.scope.robots).toEqual(['tonypi_01', 'tonypi_02', 'tonypi_03']);
    expect(doc.sections.map((s) => s.key)).toEqual(KIND_SECTIONS.fleet_summary);
    for (const key of ['availability', 'performance', 'battery', 'jobs'] as const)
      expect(section(doc, key).tables[0]!.rows.map((r) => r.robot_id)).toEqual([
        'tonypi_01',
        'tonypi_02',
        'tonypi_03',
      ]);
    expect(new Set(section(doc, 'servos').tables[0]!.rows.map((r) => r.robot_id)).size).toBe(3);
    for (const id of ['tonypi_01', 'tonypi_02', 'tonypi_03'])
      expect(section(doc, 'availability').statements.some((s) => s.robot_id === id)).toBe(true);
    const lines = section(doc, 'performance').charts[0]!;
    expect(lines.series.map((s) => s.name)).toEqual(['tonypi_01', 'tonypi_02', 'tonypi_03']);
  });

  it('writes a plain, ordered summary of at most 8 statements, critical first', () => {
    const input = generatedInput([
      { robot_id: 'tonypi_01', hotServos: ['3'], offline: [[0, 600]] },
      { robot_id: 'tonypi_02', battery: { start: 30, perHour: 1.5 }, cpuBase: 85 },
      { robot_id: 'tonypi_03' },
    ]);
    const doc = buildReport(input);
    expectClean(doc);
    expect(doc.summary.length).toBeGreaterThan(3);
    expect(doc.summary.length).toBeLessThanOrEqual(8);
    const ranks = doc.summary.map((s) => ({ critical: 2, warning: 1, info: 0 })[s.severity]);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
    expect(doc.summary[0]!.severity).toBe('critical');
    for (const s of doc.summary) expect(s.text).toMatch(/^[A-Z0-9a-z"].*\.$/);
  });

  it('formats figures in the text: "CPU averaged 42.3 % (p95 …)"', () => {
    const doc = buildReport({ ...generatedInput([{ robot_id: 'tonypi_01' }]), sections: ['performance'] });
    expectClean(doc);
    const perf = section(doc, 'performance');
    const cpu = perf.statements.find((s) => s.text.startsWith('tonypi_01: CPU averaged'))!;
    expect(cpu.text).toMatch(/^tonypi_01: CPU averaged \d+\.\d % \(p95 \d+\.\d %, max \d+\.\d %\)\.$/);
    expect(cpu.text).toContain(`${num(cpu.figure)} %`);
    expect(cpu.figure).toBeCloseTo(40, 0);
    expect(cpu.severity).toBe('info');
    expect(perf.charts.map((c) => c.title)).toEqual([
      'CPU over time',
      'Memory over time',
      'Disk over time',
      'CPU temperature over time',
    ]);
    for (const chart of doc.sections.flatMap((s) => s.charts))
      for (const series of chart.series) expect(series.points.length).toBeLessThanOrEqual(CHART_POINTS_MAX);
  });

  it('says plainly when there is no data, never NaN', () => {
    const input = generatedInput([{ robot_id: 'tonypi_01' }, { robot_id: 'tonypi_02', battery: null }]);
    // tonypi_03 is registered but sent nothing at all.
    input.robots.push({ robot_id: 'tonypi_03', name: null, first_seen: null });
    const doc = buildReport(input);
    expectClean(doc);
    const texts = doc.sections.flatMap((s) => s.statements.map((x) => x.text));
    expect(texts).toContain('No battery data from tonypi_02 in this period.');
    expect(texts).toContain('No battery data from tonypi_03 in this period.');
    expect(texts).toContain('No system data from tonypi_03 in this period.');
    expect(texts).toContain('No servo data from tonypi_03 in this period.');
    expect(texts).toContain('No data from tonypi_03 in this period.');
    const empty = buildReport({ ...input, robots: [], series: [], jobs: [], alerts: [] });
    expectClean(empty);
    const emptyTexts = empty.sections.flatMap((s) => s.statements.map((x) => x.text));
    expect(emptyTexts).toContain('No jobs ran in this period.');
    expect(emptyTexts).toContain('No alert was raised in this period.');
    expect(emptyTexts).toContain('No minute roll-ups to test for anomalies in this period.');
  });

  it('finds injected spikes in the anomalies section, with their times', () => {
    const input = generatedInput([{ robot_id: 'tonypi_01' }], { sections: ['anomalies'] });
    const cpu = input.series.find((s) => s.field === 'cpu_percent')!;
    for (const i of [100, 700]) cpu.buckets[i] = { ...cpu.buckets[i]!, avg: 99, max: 100 };
    const doc = buildReport(input);
    expectClean(doc);
    const an = section(doc, 'anomalies');
    expect(an.statements[0]!.text).toMatch(/^2 anomalous minutes in \d+ series tested/);
    const st = an.statements.find((s) => s.text.startsWith('tonypi_01 CPU: 2 minutes'))!;
    expect(st.severity).toBe('critical'); // 99 % is beyond the CPU rule's critical 90 %
    expect(st.from).toBe(new Date(T0 + 100 * MINUTE).toISOString());
    expect(an.tables[0]!.rows.map((r) => r.time)).toEqual(
      [100, 700].map((i) => new Date(T0 + i * MINUTE).toISOString()),
    );
  });

  it('reports jobs and alerts with their figures', () => {
    const doc = buildReport(generatedInput([{ robot_id: 'tonypi_01', hotServos: ['2', '5'] }]));
    const jobs = section(doc, 'jobs');
    // 6 jobs (hours 1, 5, …, 21), job 5 failed: 5 of 6 succeeded; 30 items each, 10 in the failed one.
    expect(jobs.statements[0]!.figure).toBeCloseTo(83.3, 1);
    expect(jobs.statements[0]!.text).toContain('6 jobs: 83.3 % of the 6 finished succeeded');
    expect(jobs.statements.find((s) => s.unit === 'items/h')!.figure).toBeCloseTo(160 / 3, 1);
    const alerts = section(doc, 'alerts');
    expect(alerts.statements[0]!.text).toBe('2 alerts in this period: 0 critical, 2 warning, 0 info.');
    expect(alerts.statements[1]!.figure).toBe(4);
    expect(alerts.statements[2]!.text).toContain('"Servo 2 temperature" on tonypi_01, open 2 h 00 min');
    expect(alerts.tables[1]!.rows).toHaveLength(2);
  });

  it('keeps a 100-robot fleet report readable: fleet figures, findings per robot, bounded charts', () => {
    const robots = Array.from({ length: 100 }, (_, i) => ({
      robot_id: `tonypi_${String(i + 1).padStart(3, '0')}`,
      hotServos: i === 41 ? ['4'] : [],
    }));
    const doc = buildReport(generatedInput(robots, { hours: 6 }));
    expectClean(doc);
    expect(doc.scope.robots).toHaveLength(100);
    expect(section(doc, 'availability').tables[0]!.rows).toHaveLength(100);
    expect(doc.summary.some((s) => s.robot_id === 'tonypi_042' && s.text.includes('servo 4'))).toBe(true);
    const perf = section(doc, 'performance');
    expect(perf.statements.length).toBeLessThan(20);
    for (const c of perf.charts) expect(c.series.length).toBeLessThanOrEqual(8);
    expect(perf.charts[0]!.series[0]!.name).toBe('fleet mean (100 robots)');
  });
});

describe('the summary of a fleet', () => {
  it('merges one finding shared by several robots into one sentence listing them', () => {
    const robots = Array.from({ length: 8 }, (_, i) => ({
      robot_id: `tonypi_0${i + 1}`,
      hotServos: i < 7 ? ['3'] : [],
    }));
    const doc = buildReport({ ...generatedInput(robots), sections: ['servos'] });
    const merged = doc.summary.find((s) =>
      s.text.startsWith('7 servos were above the 60 °C warning level:'),
    )!;
    expect(merged).toMatchObject({ figure: 7, unit: 'servos', robot_id: null, severity: 'warning' });
    expect(merged.text).toContain('tonypi_01 servo 3 (24 h 00 min)');
    expect(merged.text).toMatch(/and 2 more\.$/);
    // The section keeps one statement per servo.
    expect(doc.sections[0]!.statements.filter((s) => s.text.includes('was above the 60 °C'))).toHaveLength(7);
  });
});

describe('durationHistogram', () => {
  it('counts finished jobs per round bin of minutes', () => {
    const h = durationHistogram([5, 12, 18, 31, 44, 45].map((m) => m * MINUTE))!;
    expect(h).toEqual([
      ['0–5 min', 0],
      ['5–10 min', 1],
      ['10–15 min', 1],
      ['15–20 min', 1],
      ['20–25 min', 0],
      ['25–30 min', 0],
      ['30–35 min', 1],
      ['35–40 min', 0],
      ['40–45 min', 1],
      ['45–50 min', 1],
    ]);
    expect(durationHistogram([MINUTE])).toBeNull();
  });
});

describe('levels and gaps', () => {
  it('prefers a level for the exact servo, and marks time above the critical level as critical', () => {
    const input = generatedInput([{ robot_id: 'tonypi_01', hotServos: ['3'] }], { sections: ['servos'] });
    // Servo 5 (about 42 °C) has a rule of its own with a 40 °C warning and 41 °C critical level.
    input.levels = [
      ...input.levels,
      {
        measurement: 'servos',
        field: 'temperature_c',
        direction: 'above',
        warning: 40,
        critical: 41,
        tags: { servo_id: '5' },
      },
    ];
    const doc = buildReport(input);
    const s5 = doc.sections[0]!.statements.find((s) =>
      s.text.startsWith('tonypi_01 servo 5 was above the 40 °C'),
    )!;
    expect(s5.severity).toBe('critical');
    expect(s5.text).toMatch(/above the critical 41 °C\.$/);
    expect(doc.sections[0]!.statements.some((s) => s.text.startsWith('tonypi_01 servo 4 was above'))).toBe(
      false,
    );
    expect(doc.summary[0]).toBe(s5);
  });

  it('breaks a chart line where the robot was offline', () => {
    const doc = buildReport({
      ...generatedInput([{ robot_id: 'tonypi_01', offline: [[600, 720]] }]),
      sections: ['performance'],
    });
    const cpu = doc.sections[0]!.charts[0]!.series[0]!;
    const gap = cpu.points.findIndex(([, v]) => v === null);
    expect(gap).toBeGreaterThan(0);
    const [before, at, after] = [cpu.points[gap - 1]!, cpu.points[gap]!, cpu.points[gap + 1]!];
    expect(before[0]).toBeLessThan(T0 + 600 * MINUTE);
    expect(at[0]).toBeGreaterThanOrEqual(T0 + 600 * MINUTE);
    expect(after[0]).toBeGreaterThanOrEqual(T0 + 720 * MINUTE);
  });
});
