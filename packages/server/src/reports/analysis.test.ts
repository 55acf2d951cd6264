import { describe, expect, it } from 'vitest';
import {
  alertOpenMs,
  alertStats,
  availability,
  batteryAnalysis,
  correlation,
  downsample,
  jobStats,
  linearTrend,
  median,
  percentile,
  robustAnomalies,
  seriesStats,
  seriesTrend,
  tCritical95,
  timeBeyond,
  weightedPercentile,
} from './analysis';
import { buckets, DAY, HOUR, MINUTE, rng, T0 } from './report-fixtures';
import type { ReportAlertInput, ReportJobInput } from './report-input';

describe('percentiles', () => {
  it('gives the nearest-rank percentiles of 1…100', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 0.5)).toBe(50);
    expect(percentile(v, 0.95)).toBe(95);
    expect(percentile(v, 0.99)).toBe(99);
    expect(percentile(v, 1)).toBe(100);
    expect(percentile(v, 0)).toBe(1);
  });

  it('weights values by their count', () => {
    // 90 points at 10, 10 points at 100: the median is 10, p95 is 100.
    const w = [
      { value: 100, weight: 10 },
      { value: 10, weight: 90 },
    ];
    expect(weightedPercentile(w, 0.5)).toBe(10);
    expect(weightedPercentile(w, 0.9)).toBe(10);
    expect(weightedPercentile(w, 0.95)).toBe(100);
  });

  it('returns null without values and ignores zero weights', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(weightedPercentile([{ value: 5, weight: 0 }], 0.5)).toBeNull();
    expect(median([3, 1, 2, 4])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('seriesStats', () => {
  it('weights the mean and percentiles by bucket counts and takes extremes from min/max', () => {
    const b = [
      { t: T0, avg: 10, min: 5, max: 15, count: 90 },
      { t: T0 + MINUTE, avg: null, min: null, max: null, count: 0 },
      { t: T0 + 2 * MINUTE, avg: 100, min: 80, max: 120, count: 10 },
    ];
    const s = seriesStats(b)!;
    expect(s.mean).toBeCloseTo(19, 10); // (10×90 + 100×10) / 100
    expect(s.min).toBe(5);
    expect(s.max).toBe(120);
    expect(s.p50).toBe(10);
    expect(s.p95).toBe(100);
    expect(s.points).toBe(100);
    expect(s.buckets).toBe(2);
    expect(s.last).toBe(100);
    expect(s.last_t).toBe(T0 + 2 * MINUTE);
  });

  it('is null for a series without data', () => {
    expect(seriesStats([])).toBeNull();
    expect(seriesStats(buckets(T0, 10, () => null))).toBeNull();
  });
});

describe('linearTrend', () => {
  it('finds a known slope per day inside its 95 % interval', () => {
    const rand = rng(1);
    // 7 days of hourly points rising 2 units a day with ±1 of noise.
    const pts = Array.from({ length: 7 * 24 }, (_, i) => {
      const t = T0 + i * HOUR;
      return [t, 10 + (2 * (t - T0)) / DAY + (rand() - 0.5) * 2] as const;
    });
    const tr = linearTrend(pts)!;
    expect(tr.slope_per_day).toBeCloseTo(2, 1);
    expect(tr.ci95[0]).toBeLessThan(2);
    expect(tr.ci95[1]).toBeGreaterThan(2);
    expect(tr.significant).toBe(true);
    expect(tr.intercept).toBeCloseTo(10, 0);
    expect(tr.n).toBe(168);
  });

  it('is exact on a noiseless line and not significant on pure noise', () => {
    const line = Array.from({ length: 10 }, (_, i) => [T0 + i * DAY, 5 - 3 * i] as const);
    const exact = linearTrend(line)!;
    expect(exact.slope_per_day).toBeCloseTo(-3, 10);
    expect(exact.ci95[0]).toBeCloseTo(-3, 8);
    expect(exact.r2).toBeCloseTo(1, 10);

    const rand = rng(7);
    const flat = Array.from({ length: 200 }, (_, i) => [T0 + i * MINUTE, 50 + (rand() - 0.5) * 10] as const);
    const tr = linearTrend(flat)!;
    expect(tr.significant).toBe(false);
    expect(tr.ci95[0]).toBeLessThan(0);
    expect(tr.ci95[1]).toBeGreaterThan(0);
  });

  it('needs three points with a spread in time', () => {
    expect(
      linearTrend([
        [T0, 1],
        [T0 + 1, 2],
      ]),
    ).toBeNull();
    expect(
      linearTrend([
        [T0, 1],
        [T0, 2],
        [T0, 3],
      ]),
    ).toBeNull();
    expect(seriesTrend(buckets(T0, 60, (i) => i, { bucket_ms: HOUR }))!.slope_per_day).toBeCloseTo(24, 8);
  });

  it('uses Student t critical values', () => {
    expect(tCritical95(1)).toBe(12.706);
    expect(tCritical95(10)).toBe(2.228);
    expect(tCritical95(60)).toBeCloseTo(2.0, 2);
    expect(tCritical95(1e6)).toBeCloseTo(1.96, 2);
  });
});

describe('robustAnomalies', () => {
  it('finds exactly the injected spikes in a noisy minute series', () => {
    const rand = rng(3);
    const spikes = new Map([
      [100, 95],
      [400, 90],
      [401, 92],
      [900, 5],
      [1300, 99],
    ]);
    const b = buckets(T0, 1440, (i) => spikes.get(i) ?? 45 + Math.sin(i / 50) * 3 + (rand() - 0.5) * 4);
    const found = robustAnomalies(b);
    expect(found.map((a) => a.t)).toEqual([...spikes.keys()].map((i) => T0 + i * MINUTE));
    expect(found.map((a) => a.value)).toEqual([...spikes.values()]);
    expect(found.find((a) => a.value === 5)!.z).toBeLessThan(-3.5);
    expect(found[0]!.median).toBeCloseTo(45, 0);
  });

  it('finds nothing in a flat or a clean series, and falls back when the MAD is 0', () => {
    expect(robustAnomalies(buckets(T0, 100, () => 7))).toEqual([]);
    const rand = rng(9);
    expect(robustAnomalies(buckets(T0, 1000, () => 20 + (rand() - 0.5) * 2))).toEqual([]);
    // Mostly 0 with one spike: MAD is 0, the mean absolute deviation finds the spike.
    const sparse = robustAnomalies(buckets(T0, 100, (i) => (i === 50 ? 10 : 0)));
    expect(sparse.map((a) => a.t)).toEqual([T0 + 50 * MINUTE]);
  });

  it('can test the bucket maxima', () => {
    const b = buckets(T0, 200, () => 40, { spread: 1 });
    b[77] = { t: b[77]!.t, avg: 40, min: 39, max: 90, count: 60 };
    expect(robustAnomalies(b).length).toBe(0);
    expect(robustAnomalies(b, { value: 'max' }).map((a) => a.t)).toEqual([T0 + 77 * MINUTE]);
  });
});

describe('availability', () => {
  const from = T0;
  const to = T0 + DAY;

  it('counts the minutes with data and lists a 2 h gap', () => {
    const b = buckets(from, 1440, (i) => (i >= 600 && i < 720 ? null : 1));
    const a = availability([{ bucket_ms: MINUTE, buckets: b }], { from, to, first_seen: null });
    expect(a.expected_ms).toBe(DAY);
    expect(a.missing_ms).toBe(2 * HOUR);
    expect(a.share).toBeCloseTo(22 / 24, 10);
    expect(a.gaps).toEqual([{ from: from + 600 * MINUTE, to: from + 720 * MINUTE, duration_ms: 2 * HOUR }]);
  });

  it('counts from first_seen when the robot joined during the period', () => {
    const b = buckets(from, 1440, (i) => (i >= 360 ? 1 : null));
    const a = availability([{ bucket_ms: MINUTE, buckets: b }], { from, to, first_seen: from + 6 * HOUR });
    expect(a.counted_from).toBe(from + 6 * HOUR);
    expect(a.share).toBe(1);
    expect(a.gaps).toEqual([]);
    const late = availability([], { from, to, first_seen: to + 1 });
    expect(late.share).toBeNull();
    expect(late.expected_ms).toBe(0);
  });

  it('takes the union of several series, lists a trailing gap and skips short ones', () => {
    const a1 = buckets(from, 1440, (i) => (i < 720 ? 1 : null));
    const a2 = buckets(from, 1440, (i) => (i < 700 || (i >= 1000 && i < 1002) ? 1 : null));
    const a = availability(
      [
        { bucket_ms: MINUTE, buckets: a1 },
        { bucket_ms: MINUTE, buckets: a2 },
      ],
      { from, to, first_seen: null, minGapMs: 10 * MINUTE },
    );
    expect(a.covered_ms).toBe(722 * MINUTE);
    expect(a.gaps.map((g) => [(g.from - from) / MINUTE, (g.to - from) / MINUTE])).toEqual([
      [720, 1000],
      [1002, 1440],
    ]);
    const none = availability([], { from, to, first_seen: null });
    expect(none.share).toBe(0);
    expect(none.gaps).toEqual([{ from, to, duration_ms: DAY }]);
  });
});

describe('batteryAnalysis', () => {
  it('gives the discharge rate, a charge and the forecast to critical', () => {
    // 100 % falling 10 %/h for 6 h (to 40 %), charging back to 100 % over 1 h, then falling 12 %/h for 2 h.
    const b = buckets(T0, 9 * 60, (i) => {
      if (i <= 360) return 100 - (10 * i) / 60;
      if (i <= 420) return 40 + (i - 360);
      return 100 - (12 * (i - 420)) / 60;
    });
    const a = batteryAnalysis(b, MINUTE, { critical: 10 })!;
    // 60 points over 6 h at 10 %/h and 24 points over 2 h at 12 %/h (the last minute is not a step).
    expect(a.discharge_rate_per_h).toBeCloseTo((60 + 23.8) / (6 + 119 / 60), 6);
    expect(a.charge_cycles).toBe(1);
    expect(a.recent_rate_per_h).toBeCloseTo(-12, 6);
    expect(a.last).toBeCloseTo(76.2, 6);
    expect(a.hours_to_critical).toBeCloseTo((76.2 - 10) / 12, 4);
    expect(a.critical_at).toBeCloseTo(a.last_t + a.hours_to_critical! * HOUR, 0);
  });

  it('uses the charging flag and needs a falling trend for a forecast', () => {
    const flat = buckets(T0, 120, () => 80);
    const a = batteryAnalysis(flat, MINUTE, { critical: 10 })!;
    expect(a.hours_to_critical).toBeNull();
    expect(a.charge_cycles).toBe(0);
    const empty = batteryAnalysis(
      buckets(T0, 120, () => 5),
      MINUTE,
      { critical: 10 },
    )!;
    expect(empty.hours_to_critical).toBe(0);
    const charging = buckets(T0, 120, () => 1);
    const sag = batteryAnalysis(
      buckets(T0, 120, (i) => 50 - i / 60),
      MINUTE,
      { critical: 10, charging },
    )!;
    expect(sag.discharge_rate_per_h).toBeNull();
    expect(batteryAnalysis([], MINUTE, { critical: 10 })).toBeNull();
  });

  it('counts each charge from a trough as one cycle', () => {
    // Three saw-teeth: down 60 → 30, up to 90, twice more; noise of ±2 is no cycle.
    const rand = rng(5);
    const b = buckets(T0, 600, (i) => {
      const phase = i % 200;
      const base = phase < 150 ? 90 - (60 * phase) / 150 : 30 + (60 * (phase - 150)) / 50;
      return base + (rand() - 0.5) * 4;
    });
    expect(batteryAnalysis(b, MINUTE, { critical: 10 })!.charge_cycles).toBe(3);
  });
});

describe('timeBeyond', () => {
  it('measures time, episodes and the worst value above a level', () => {
    const b = buckets(T0, 300, (i) => ((i >= 10 && i < 40) || (i >= 100 && i < 160) ? 70 : 50), {
      spread: 2,
    });
    const t = timeBeyond(b, MINUTE, 60, 'above');
    expect(t.ms).toBe(90 * MINUTE);
    expect(t.episodes).toBe(2);
    expect(t.longest_ms).toBe(60 * MINUTE);
    expect(t.first_t).toBe(T0 + 10 * MINUTE);
    expect(t.worst).toBe(72);
    expect(t.share).toBeCloseTo(90 / 300, 10);
  });

  it('works below a level and splits episodes at a gap', () => {
    const b = buckets(T0, 100, (i) => (i === 50 ? null : i < 80 ? 5.5 : 7));
    const t = timeBeyond(b, MINUTE, 5.9, 'below');
    expect(t.ms).toBe(79 * MINUTE);
    expect(t.episodes).toBe(2);
    expect(t.worst).toBe(5.5);
    const none = timeBeyond([], MINUTE, 1, 'above');
    expect(none).toMatchObject({ ms: 0, share: null, episodes: 0, worst: null, first_t: null });
  });
});

describe('jobStats', () => {
  const job = (id: number, status: string, success: boolean | null, minutes: number | null, items: number) =>
    ({
      id,
      robot_id: 'r1',
      task_name: 't',
      status,
      success,
      items_done: items,
      start_time: T0 + id * HOUR,
      end_time: minutes === null ? null : T0 + id * HOUR + minutes * MINUTE,
    }) satisfies ReportJobInput;

  it('gives the success rate, duration percentiles and items per hour', () => {
    const jobs = [
      job(1, 'completed', true, 10, 20),
      job(2, 'completed', true, 20, 40),
      job(3, 'failed', false, 30, 5),
      job(4, 'completed', false, 40, 15),
      job(5, 'cancelled', null, 50, 0),
      job(6, 'working', null, null, 10),
    ];
    const s = jobStats(jobs, T0, T0 + 6 * HOUR + 30 * MINUTE);
    expect(s).toMatchObject({ total: 6, completed: 2, failed: 2, cancelled: 1, running: 1, items: 90 });
    expect(s.success_rate).toBeCloseTo(2 / 5, 10);
    expect(s.duration_p50_ms).toBe(30 * MINUTE);
    expect(s.duration_p95_ms).toBe(50 * MINUTE);
    expect(s.duration_max_ms).toBe(50 * MINUTE);
    // 150 min finished + 30 min of the running job = 3 h.
    expect(s.working_h).toBeCloseTo(3, 10);
    expect(s.items_per_hour).toBeCloseTo(30, 10);
  });

  it('has nulls and no NaN without jobs', () => {
    const s = jobStats([], T0, T0 + DAY);
    expect(s.success_rate).toBeNull();
    expect(s.items_per_hour).toBeNull();
    expect(s.duration_p50_ms).toBeNull();
  });
});

describe('alertStats', () => {
  const alert = (
    id: number,
    severity: ReportAlertInput['severity'],
    type: string,
    from: number,
    to: number | null,
  ) =>
    ({
      id,
      robot_id: 'r1',
      alert_type: type,
      severity,
      title: `alert ${id}`,
      source: null,
      created_at: T0 + from * HOUR,
      resolved_at: to === null ? null : T0 + to * HOUR,
    }) satisfies ReportAlertInput;

  it('counts by severity and type, adds open time within the period and ranks the costliest', () => {
    const alerts = [
      alert(1, 'warning', 'cpu', 1, 2),
      alert(2, 'critical', 'battery', -5, 3), // opened before the period: 3 h count
      alert(3, 'critical', 'battery', 20, null), // still open at the end: 4 h count
      alert(4, 'info', 'cpu', 5, 5.5),
    ];
    const s = alertStats(alerts, T0, T0 + DAY);
    expect(s.total).toBe(4);
    expect(s.by_severity).toEqual({ info: 1, warning: 1, critical: 2 });
    expect(s.by_type).toEqual({ cpu: 2, battery: 2 });
    expect(s.still_open).toBe(1);
    expect(s.total_open_ms).toBe(8.5 * HOUR);
    expect(s.longest!.alert.id).toBe(3);
    expect(s.costliest.map((c) => c.alert.id)).toEqual([3, 2, 1, 4]);
    expect(alertOpenMs(alerts[1]!, T0, T0 + DAY)).toBe(3 * HOUR);
  });

  it('is empty without alerts', () => {
    const s = alertStats([], T0, T0 + DAY);
    expect(s).toMatchObject({ total: 0, still_open: 0, total_open_ms: 0, longest: null, costliest: [] });
  });
});

describe('downsample', () => {
  it('keeps at most max points, in time order, with the extremes of each slice', () => {
    const pts = Array.from(
      { length: 10_080 },
      (_, i) => [T0 + i * MINUTE, i === 5000 ? 999 : i % 7] as const,
    );
    const d = downsample(pts, 300);
    expect(d.length).toBeLessThanOrEqual(300);
    expect(d.some(([, v]) => v === 999)).toBe(true);
    for (let i = 1; i < d.length; i++) expect(d[i]![0]).toBeGreaterThan(d[i - 1]![0]);
    expect(downsample(pts.slice(0, 10), 300)).toHaveLength(10);
  });
});

describe('correlation', () => {
  it('is 1 for series moving together, -1 against, null without spread or shared buckets', () => {
    const a = buckets(T0, 50, (i) => i);
    expect(
      correlation(
        a,
        buckets(T0, 50, (i) => 3 * i + 2),
      ),
    ).toBeCloseTo(1, 10);
    expect(
      correlation(
        a,
        buckets(T0, 50, (i) => -i),
      ),
    ).toBeCloseTo(-1, 10);
    expect(
      correlation(
        a,
        buckets(T0, 50, () => 4),
      ),
    ).toBeNull();
    expect(
      correlation(
        a,
        buckets(T0 + DAY, 50, (i) => i),
      ),
    ).toBeNull();
  });
});

describe('downsample with gaps', () => {
  it('keeps a gap as a null between the stretches around it', () => {
    const pts = Array.from(
      { length: 2000 },
      (_, i) => [T0 + i * MINUTE, i >= 900 && i < 1000 ? null : i % 10] as const,
    );
    const d = downsample(pts, 300);
    expect(d.length).toBeLessThanOrEqual(300);
    const nulls = d.filter(([, v]) => v === null);
    expect(nulls).toEqual([[T0 + 900 * MINUTE, null]]);
    const at = d.findIndex(([, v]) => v === null);
    expect(d[at - 1]![0]).toBeLessThan(T0 + 900 * MINUTE);
    expect(d[at + 1]![0]).toBeGreaterThanOrEqual(T0 + 1000 * MINUTE);
  });
});
