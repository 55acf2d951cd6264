import type { ReportAlertInput, ReportBucket, ReportJobInput } from './report-input';

/**
 * The statistics a report rests on (issue #10 §2): pure functions over the roll-up buckets, jobs and alerts of
 * a ReportInput. No database, no clock: every period comes in as arguments, so each figure is reproducible from
 * the input that produced it. Functions return null (or empty lists) where there is nothing to compute, never
 * NaN or Infinity.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Distributions

export interface Weighted {
  value: number;
  weight: number;
}

/**
 * Nearest-rank percentile over weighted values: the smallest value whose cumulative weight reaches q × the total
 * weight (q in 0…1). With all weights 1 this is the textbook nearest-rank percentile (p95 of 1…100 is 95).
 */
export function weightedPercentile(values: readonly Weighted[], q: number): number | null {
  return weightedPercentiles(values, [q])[0] ?? null;
}

/** Several weighted percentiles with one sort (nulls when there is no value). */
export function weightedPercentiles(
  values: readonly Weighted[],
  qs: readonly number[],
): Array<number | null> {
  return percentilesOf(
    values.map((v) => v.value),
    values.map((v) => v.weight),
    qs,
  );
}

/**
 * The percentiles of parallel value and weight arrays, without an object per value (a fleet report sorts
 * millions). Equal weights, the usual case of full roll-up buckets, sort the values natively as a typed array;
 * otherwise an index array is sorted by value.
 */
function percentilesOf(values: ArrayLike<number>, weights: ArrayLike<number>, qs: readonly number[]) {
  const v = new Float64Array(values.length);
  const w = new Float64Array(values.length);
  let n = 0;
  let equal = true;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const wi = weights[i]!;
    if (!Number.isFinite(x) || !(wi > 0)) continue;
    if (n > 0 && wi !== w[0]) equal = false;
    v[n] = x;
    w[n] = wi;
    n++;
  }
  if (n === 0) return qs.map(() => null);
  const clampQ = (q: number) => Math.min(Math.max(q, 0), 1);
  if (equal) {
    const sorted = v.subarray(0, n).sort();
    // Nearest rank: the smallest value whose rank reaches q × n.
    return qs.map((q) => sorted[Math.min(Math.max(Math.ceil(clampQ(q) * n - 1e-9) - 1, 0), n - 1)]!);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => v[a]! - v[b]!);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i]!;
  return qs.map((q) => {
    const target = clampQ(q) * total - 1e-9 * total;
    let cum = 0;
    for (const i of order) {
      cum += w[i]!;
      if (cum >= target) return v[i]!;
    }
    return v[order[n - 1]!]!;
  });
}

/** Nearest-rank percentile of plain numbers (each counts once). */
export function percentile(values: readonly number[], q: number): number | null {
  return percentilesOf(values, new Float64Array(values.length).fill(1), [q])[0] ?? null;
}

export function median(values: ArrayLike<number>): number | null {
  // A typed array sorts numbers natively, without a comparator call per pair.
  const v = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) v[n++] = values[i]!;
  return sortedMedian(v.subarray(0, n).sort());
}

function sortedMedian(v: Float64Array): number | null {
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export interface SeriesStats {
  /** Raw points behind the figures (the buckets' counts added up). */
  points: number;
  /** Buckets that held data. */
  buckets: number;
  /** Mean of the raw points: the bucket averages weighted by their counts. */
  mean: number;
  min: number;
  max: number;
  /** Percentiles of the bucket averages, each weighted by its bucket's count. */
  p50: number;
  p95: number;
  p99: number;
  /** Time of the first and last bucket with data, epoch ms. */
  first_t: number;
  last_t: number;
  /** The average of the last bucket with data. */
  last: number;
}

/** Mean, extremes and percentiles of a roll-up series; null when no bucket holds data. */
export function seriesStats(buckets: readonly ReportBucket[]): SeriesStats | null {
  return pooledStats([buckets]);
}

/**
 * The same over several series pooled (a fleet's CPU: every robot's buckets together), weighted by the counts as
 * one series would be. "last" is the latest bucket of any of them.
 */
export function pooledStats(lists: ReadonlyArray<readonly ReportBucket[]>): SeriesStats | null {
  const cleaned = lists.map(dataBuckets);
  const total = cleaned.reduce((s, l) => s + l.length, 0);
  if (total === 0) return null;
  const values = new Float64Array(total);
  const weights = new Float64Array(total);
  let points = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let first: DataBucket | null = null;
  let last: DataBucket | null = null;
  let i = 0;
  for (const data of cleaned)
    for (const b of data) {
      points += b.count;
      sum += b.avg * b.count;
      const lo = b.min ?? b.avg;
      const hi = b.max ?? b.avg;
      if (lo < min) min = lo;
      if (hi > max) max = hi;
      if (!first || b.t < first.t) first = b;
      if (!last || b.t >= last.t) last = b;
      values[i] = b.avg;
      weights[i] = b.count;
      i++;
    }
  const [p50, p95, p99] = percentilesOf(values, weights, [0.5, 0.95, 0.99]);
  return {
    points,
    buckets: total,
    mean: sum / points,
    min,
    max,
    p50: p50!,
    p95: p95!,
    p99: p99!,
    first_t: first!.t,
    last_t: last!.t,
    last: last!.avg,
  };
}

type DataBucket = ReportBucket & { avg: number };

/** Arrays dataBuckets made: already clean, so a second call returns them as they are. */
const CLEAN = new WeakSet<readonly ReportBucket[]>();

/**
 * Buckets with data (count > 0 and a finite average), in time order. The result is remembered as clean: a
 * report builder cleans each series once and every statistic after that reuses it (treat it as read-only).
 */
export function dataBuckets(buckets: readonly ReportBucket[]): DataBucket[] {
  if (CLEAN.has(buckets)) return buckets as DataBucket[];
  const out = clean(buckets);
  CLEAN.add(out);
  return out;
}

function clean(buckets: readonly ReportBucket[]): DataBucket[] {
  const out = buckets.filter((b): b is DataBucket => b.count > 0 && b.avg !== null && Number.isFinite(b.avg));
  // The stores return buckets in time order: sort only when they are not.
  for (let i = 1; i < out.length; i++) if (out[i]!.t < out[i - 1]!.t) return out.sort((a, b) => a.t - b.t);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Trend

export interface Trend {
  /** Least-squares slope, units per day. */
  slope_per_day: number;
  /** 95 % confidence interval of the slope, units per day. */
  ci95: [number, number];
  /** The interval excludes 0: the series really rises or falls. */
  significant: boolean;
  /** Value of the fitted line at `t`: intercept + slope × (t − t0). */
  intercept: number;
  t0: number;
  r2: number;
  n: number;
}

/** Two-sided 95 % critical values of Student's t for 1…30 degrees of freedom. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Two-sided 95 % critical value of Student's t (table to 30 df, then the Cornish-Fisher expansion). */
export function tCritical95(df: number): number {
  if (df < 1) return Number.NaN;
  if (df <= 30) return T95[Math.floor(df) - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Ordinary least squares of y on time (epoch ms); null with fewer than 3 points or no spread in time. */
export function linearTrend(points: ReadonlyArray<readonly [number, number]>): Trend | null {
  const p = points.filter(([t, y]) => Number.isFinite(t) && Number.isFinite(y));
  const n = p.length;
  if (n < 3) return null;
  const t0 = p[0]![0];
  let sx = 0;
  let sy = 0;
  for (const [t, y] of p) {
    sx += (t - t0) / DAY_MS;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [t, y] of p) {
    const dx = (t - t0) / DAY_MS - mx;
    const dy = y - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = Math.max(syy - slope * sxy, 0);
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const half = tCritical95(n - 2) * se;
  const ci95: [number, number] = [slope - half, slope + half];
  return {
    slope_per_day: slope,
    ci95,
    significant: ci95[0] > 0 || ci95[1] < 0,
    intercept,
    t0,
    r2: syy > 0 ? 1 - sse / syy : 1,
    n,
  };
}

/** The trend of a roll-up series' bucket averages. */
export function seriesTrend(buckets: readonly ReportBucket[]): Trend | null {
  return linearTrend(dataBuckets(buckets).map((b) => [b.t, b.avg] as const));
}

// ---------------------------------------------------------------------------------------------------------------
// Anomalies

export interface Anomaly {
  /** Bucket start, epoch ms. */
  t: number;
  value: number;
  /** Modified z-score: 0.6745 × (value − median) / MAD. */
  z: number;
  median: number;
}

export interface AnomalyOptions {
  /** |z| at or above which a bucket is an anomaly (Iglewicz and Hoaglin recommend 3.5). */
  threshold?: number;
  /** Which figure of a bucket to test: its average (default) or its extreme. */
  value?: 'avg' | 'max' | 'min';
}

/**
 * Anomalies by robust z-score on roll-up buckets: the median and the median absolute deviation (MAD) resist the
 * very outliers being looked for, so a few spikes do not hide themselves by inflating the spread (as they do
 * with mean and standard deviation). When more than half the values are equal (MAD 0), the mean absolute
 * deviation stands in (× 1.2533, the same scale for normal data); a perfectly flat series has no anomaly.
 */
export function robustAnomalies(buckets: readonly ReportBucket[], opts: AnomalyOptions = {}): Anomaly[] {
  const threshold = opts.threshold ?? 3.5;
  const pick = opts.value ?? 'avg';
  const data = dataBuckets(buckets)
    .map((b) => ({ t: b.t, value: b[pick] ?? b.avg }))
    .filter((d) => Number.isFinite(d.value));
  if (data.length < 5) return [];
  const values = Float64Array.from(data, (d) => d.value);
  const med = sortedMedian(values.slice().sort())!;
  const deviations = values.map((v) => Math.abs(v - med));
  let devSum = 0;
  for (const d of deviations) devSum += d;
  let scale = sortedMedian(deviations.sort())! / 0.6745;
  if (scale === 0) scale = (1.2533 * devSum) / deviations.length;
  if (!(scale > 0)) return [];
  const out: Anomaly[] = [];
  for (const d of data) {
    const z = (d.value - med) / scale;
    if (Math.abs(z) >= threshold) out.push({ t: d.t, value: d.value, z, median: med });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Availability

export interface Gap {
  from: number;
  to: number;
  duration_ms: number;
}

export interface Availability {
  /** Start of what is counted: the period's start, or the robot's first_seen when later. */
  counted_from: number;
  counted_to: number;
  expected_ms: number;
  covered_ms: number;
  missing_ms: number;
  /** covered / expected, 0…1; null when nothing is expected (the robot was first seen after the period). */
  share: number | null;
  /** Stretches without data at least `minGapMs` long, oldest first. */
  gaps: Gap[];
}

export interface AvailabilityOptions {
  from: number;
  to: number;
  first_seen: number | null;
  /** Shortest gap listed (default 5 minutes); shorter ones still count as missing time. */
  minGapMs?: number;
}

/**
 * Share of the period with data: each bucket holding data (of any of the robot's series) covers its own length;
 * the union of those, clipped to the period, is the covered time. Counting starts at first_seen when the robot
 * joined during the period, so a new robot is not blamed for the time before it existed.
 */
export function availability(
  series: ReadonlyArray<{ bucket_ms: number; buckets: readonly ReportBucket[] }>,
  opts: AvailabilityOptions,
): Availability {
  const start = Math.max(opts.from, opts.first_seen ?? opts.from);
  const end = opts.to;
  const minGap = opts.minGapMs ?? 5 * 60_000;
  // Each series' buckets come in time order: their contiguous runs are few, and only those need a sort.
  const spans: Array<[number, number]> = [];
  for (const s of series) {
    let run: [number, number] | null = null;
    for (const b of s.buckets) {
      if (b.count <= 0) continue;
      const a = Math.max(b.t, start);
      const z = Math.min(b.t + s.bucket_ms, end);
      if (z <= a) continue;
      if (run && a >= run[0] && a <= run[1]) run[1] = Math.max(run[1], z);
      else {
        if (run) spans.push(run);
        run = [a, z];
      }
    }
    if (run) spans.push(run);
  }
  spans.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const sp of spans) {
    const last = merged[merged.length - 1];
    if (last && sp[0] <= last[1]) last[1] = Math.max(last[1], sp[1]);
    else merged.push([sp[0], sp[1]]);
  }
  const expected = Math.max(end - start, 0);
  const covered = merged.reduce((s, [a, z]) => s + (z - a), 0);
  const gaps: Gap[] = [];
  let cursor = start;
  for (const [a, z] of [...merged, [end, end] as [number, number]]) {
    if (a - cursor >= minGap && a > cursor) gaps.push({ from: cursor, to: a, duration_ms: a - cursor });
    cursor = Math.max(cursor, z);
  }
  return {
    counted_from: start,
    counted_to: end,
    expected_ms: expected,
    covered_ms: covered,
    missing_ms: expected - covered,
    share: expected > 0 ? covered / expected : null,
    gaps,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Battery

export interface BatteryAnalysis {
  /** Mean fall of the charge while discharging, % per hour (positive = draining); null without a discharge. */
  discharge_rate_per_h: number | null;
  /** Hours of data spent discharging. */
  discharging_h: number;
  /** Rises of the charge by at least `minRise` points: charging sessions. */
  charge_cycles: number;
  /** The last level, %. */
  last: number;
  last_t: number;
  /** Hours from the last reading to the critical level on the recent trend; 0 when already there. */
  hours_to_critical: number | null;
  /** Epoch ms the critical level is reached on that trend. */
  critical_at: number | null;
  /** The recent trend the forecast rests on (%/h, negative when falling). */
  recent_rate_per_h: number | null;
}

export interface BatteryOptions {
  /** The level the forecast aims at (the low-battery rule's critical level), %. */
  critical: number;
  /** Smallest rise that counts as a charge (default 10 points). */
  minRise?: number;
  /** How far back the forecast's trend looks (default 2 h). */
  recentMs?: number;
  /** The `charging` field's buckets (1 while charging), when the robot reports it. */
  charging?: readonly ReportBucket[];
}

/**
 * Discharge rate, charge cycles and the time-to-critical forecast of a battery charge series (%). Consecutive
 * buckets (no gap longer than two buckets) make a step; a step that does not rise, outside charging, is
 * discharging time. Cycles are counted with hysteresis (a rise of `minRise` after a trough), so the noise of a
 * sagging pack under load is not a charge.
 */
export function batteryAnalysis(
  buckets: readonly ReportBucket[],
  bucket_ms: number,
  opts: BatteryOptions,
): BatteryAnalysis | null {
  const data = dataBuckets(buckets);
  if (data.length === 0) return null;
  const minRise = opts.minRise ?? 10;
  const charging = new Map<number, boolean>();
  for (const b of dataBuckets(opts.charging ?? [])) charging.set(b.t, b.avg >= 0.5);

  let dropSum = 0;
  let dischargeMs = 0;
  for (let i = 1; i < data.length; i++) {
    const a = data[i - 1]!;
    const b = data[i]!;
    const dt = b.t - a.t;
    if (dt <= 0 || dt > 2 * bucket_ms) continue;
    const delta = b.avg - a.avg;
    if (delta > 0 || charging.get(a.t) || charging.get(b.t)) continue;
    dropSum += -delta;
    dischargeMs += dt;
  }

  let cycles = 0;
  let rising = false;
  let trough = data[0]!.avg;
  let peak = data[0]!.avg;
  for (const b of data) {
    if (!rising) {
      trough = Math.min(trough, b.avg);
      if (b.avg - trough >= minRise) {
        cycles++;
        rising = true;
        peak = b.avg;
      }
    } else {
      peak = Math.max(peak, b.avg);
      if (peak - b.avg >= minRise / 2) {
        rising = false;
        trough = b.avg;
      }
    }
  }

  const last = data[data.length - 1]!;
  // The forecast's trend: the trailing discharge (after the last rise of more than half a point, which a
  // sagging pack's noise does not make) within the recent window.
  const recentFrom = last.t - (opts.recentMs ?? 2 * HOUR_MS);
  let startIdx = data.length - 1;
  while (startIdx > 0) {
    const prev = data[startIdx - 1]!;
    const cur = data[startIdx]!;
    if (prev.t < recentFrom) break;
    if (cur.avg - prev.avg > 0.5 || charging.get(prev.t)) break;
    startIdx--;
  }
  const recent = data.slice(startIdx);
  const trend = linearTrend(recent.map((b) => [b.t, b.avg] as const));
  const ratePerH = trend ? trend.slope_per_day / 24 : null;
  let hours: number | null = null;
  if (last.avg <= opts.critical) hours = 0;
  else if (ratePerH !== null && ratePerH < 0 && trend) {
    const fitted = trend.intercept + trend.slope_per_day * ((last.t - trend.t0) / DAY_MS);
    hours = Math.max((fitted - opts.critical) / -ratePerH, 0);
  }
  return {
    discharge_rate_per_h: dischargeMs > 0 ? dropSum / (dischargeMs / HOUR_MS) : null,
    discharging_h: dischargeMs / HOUR_MS,
    charge_cycles: cycles,
    last: last.avg,
    last_t: last.t,
    hours_to_critical: hours,
    critical_at: hours === null ? null : last.t + hours * HOUR_MS,
    recent_rate_per_h: ratePerH,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Time above / below a level

export interface TimeBeyond {
  level: number;
  direction: 'above' | 'below';
  /** Time in buckets whose average was beyond the level, ms. */
  ms: number;
  /** That time over the time with data, 0…1; null without data. */
  share: number | null;
  /** Runs of consecutive buckets beyond the level. */
  episodes: number;
  longest_ms: number;
  /** Start of the first bucket beyond the level. */
  first_t: number | null;
  /** The most extreme value beyond the level (max above, min below). */
  worst: number | null;
}

/**
 * Time a series spent above (or below) a level. A bucket counts whole when its average is beyond the level: with
 * roll-ups that is the best estimate of "most of that minute"; a one-second peak within a cool minute does not.
 */
export function timeBeyond(
  buckets: readonly ReportBucket[],
  bucket_ms: number,
  level: number,
  direction: 'above' | 'below',
): TimeBeyond {
  const data = dataBuckets(buckets);
  const beyond = (v: number) => (direction === 'above' ? v > level : v < level);
  let ms = 0;
  let episodes = 0;
  let longest = 0;
  let run = 0;
  let prevT: number | null = null;
  let first: number | null = null;
  let worst: number | null = null;
  for (const b of data) {
    if (beyond(b.avg)) {
      ms += bucket_ms;
      const contiguous = prevT !== null && b.t - prevT <= bucket_ms;
      if (contiguous && run > 0) run += bucket_ms;
      else {
        episodes++;
        run = bucket_ms;
      }
      longest = Math.max(longest, run);
      first ??= b.t;
      const extreme = direction === 'above' ? (b.max ?? b.avg) : (b.min ?? b.avg);
      worst =
        worst === null
          ? extreme
          : direction === 'above'
            ? Math.max(worst, extreme)
            : Math.min(worst, extreme);
    } else run = 0;
    prevT = b.t;
  }
  const total = data.length * bucket_ms;
  return {
    level,
    direction,
    ms,
    share: total > 0 ? ms / total : null,
    episodes,
    longest_ms: longest,
    first_t: first,
    worst,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs

export interface JobStats {
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  running: number;
  /** Succeeded over finished (completed, failed or cancelled); null when none finished. */
  success_rate: number | null;
  /** Durations of finished jobs, ms. */
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
  duration_max_ms: number | null;
  items: number;
  /** Hours spent in jobs (running ones up to the period's end), clipped to the period. */
  working_h: number;
  /** Items per hour of job time. */
  items_per_hour: number | null;
}

const FAILED = new Set(['failed', 'error', 'aborted', 'timed_out']);
const CANCELLED = new Set(['cancelled', 'canceled', 'stopped']);

/** A finished job's outcome: its `success` flag when set, otherwise its status. */
export function jobOutcome(job: ReportJobInput): 'succeeded' | 'failed' | 'cancelled' | 'running' {
  if (CANCELLED.has(job.status)) return 'cancelled';
  if (job.end_time === null && !FAILED.has(job.status) && job.status !== 'completed') return 'running';
  if (job.success === false || FAILED.has(job.status)) return 'failed';
  return 'succeeded';
}

export function jobStats(jobs: readonly ReportJobInput[], from: number, to: number): JobStats {
  let completed = 0;
  let failed = 0;
  let cancelled = 0;
  let running = 0;
  let items = 0;
  let workingMs = 0;
  const durations: number[] = [];
  for (const j of jobs) {
    const outcome = jobOutcome(j);
    if (outcome === 'succeeded') completed++;
    else if (outcome === 'failed') failed++;
    else if (outcome === 'cancelled') cancelled++;
    else running++;
    items += Math.max(j.items_done, 0);
    if (j.end_time !== null && j.end_time >= j.start_time) durations.push(j.end_time - j.start_time);
    const a = Math.max(j.start_time, from);
    const z = Math.min(j.end_time ?? to, to);
    if (z > a) workingMs += z - a;
  }
  const finished = completed + failed + cancelled;
  const workingH = workingMs / HOUR_MS;
  return {
    total: jobs.length,
    completed,
    failed,
    cancelled,
    running,
    success_rate: finished > 0 ? completed / finished : null,
    duration_p50_ms: percentile(durations, 0.5),
    duration_p95_ms: percentile(durations, 0.95),
    duration_max_ms: durations.length ? Math.max(...durations) : null,
    items,
    working_h: workingH,
    items_per_hour: workingH > 0 ? items / workingH : null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts

export interface AlertCost {
  alert: ReportAlertInput;
  /** Open time within the period, ms. */
  open_ms: number;
  still_open: boolean;
}

export interface AlertStats {
  total: number;
  by_severity: Record<'info' | 'warning' | 'critical', number>;
  by_type: Record<string, number>;
  still_open: number;
  /** Open time of all alerts added up, clipped to the period, ms. */
  total_open_ms: number;
  longest: AlertCost | null;
  /** The alerts that were open longest within the period, longest first. */
  costliest: AlertCost[];
}

/** Open time of an alert within [from, to): from its creation to its resolution, or to `to` while open. */
export function alertOpenMs(alert: ReportAlertInput, from: number, to: number): number {
  const a = Math.max(alert.created_at, from);
  const z = Math.min(alert.resolved_at ?? to, to);
  return Math.max(z - a, 0);
}

export function alertStats(
  alerts: readonly ReportAlertInput[],
  from: number,
  to: number,
  top = 5,
): AlertStats {
  const by_severity = { info: 0, warning: 0, critical: 0 };
  const by_type: Record<string, number> = {};
  const costs: AlertCost[] = [];
  let stillOpen = 0;
  let total = 0;
  for (const a of alerts) {
    by_severity[a.severity]++;
    by_type[a.alert_type] = (by_type[a.alert_type] ?? 0) + 1;
    const open = alertOpenMs(a, from, to);
    const still = a.resolved_at === null || a.resolved_at > to;
    if (still) stillOpen++;
    total += open;
    costs.push({ alert: a, open_ms: open, still_open: still });
  }
  costs.sort((x, y) => y.open_ms - x.open_ms || x.alert.id - y.alert.id);
  return {
    total: alerts.length,
    by_severity,
    by_type,
    still_open: stillOpen,
    total_open_ms: total,
    longest: costs[0] ?? null,
    costliest: costs.slice(0, top),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Downsampling

/**
 * At most `max` points of a series for a chart. Each stretch between gaps (null values) is cut into equal-count
 * slices that keep their minimum and maximum (in time order), so spikes survive the cut; the gaps stay gaps, so
 * a line still breaks where the data stopped. (With more gaps than a third of `max`, the gaps inside a slice are
 * given up for the budget.)
 */
export function downsample(
  points: ReadonlyArray<readonly [number, number | null]>,
  max = 300,
): Array<[number, number | null]> {
  if (points.length <= max) return points.map(([t, v]) => [t, v]);
  const runs: Array<Array<readonly [number, number]>> = [[]];
  const gaps: number[] = [];
  for (const p of points) {
    if (p[1] === null) {
      if (runs[runs.length - 1]!.length > 0) {
        gaps.push(p[0]);
        runs.push([]);
      }
    } else runs[runs.length - 1]!.push(p as readonly [number, number]);
  }
  if (runs[runs.length - 1]!.length === 0) runs.pop();
  const values = runs.reduce((s, r) => s + r.length, 0);
  if (gaps.length <= max / 3) {
    const budget = max - gaps.length;
    const out: Array<[number, number | null]> = [];
    runs.forEach((run, i) => {
      if (i > 0) out.push([gaps[i - 1]!, null]);
      out.push(...minMax(run, Math.max(2, Math.floor((budget * run.length) / values))));
    });
    if (out.length <= max) return out;
  }
  return minMax(points, max);
}

/** Min/max per equal-count slice: at most `max` points; an all-null slice becomes one null. */
function minMax(
  points: ReadonlyArray<readonly [number, number | null]>,
  max: number,
): Array<[number, number | null]> {
  if (points.length <= max) return points.map(([t, v]) => [t, v]);
  const slices = Math.max(Math.floor(max / 2), 1);
  const size = points.length / slices;
  const out: Array<[number, number | null]> = [];
  for (let s = 0; s < slices; s++) {
    const slice = points.slice(Math.floor(s * size), Math.floor((s + 1) * size));
    let lo: readonly [number, number] | null = null;
    let hi: readonly [number, number] | null = null;
    for (const p of slice) {
      if (p[1] === null) continue;
      const q = p as readonly [number, number];
      if (!lo || q[1] < lo[1]) lo = q;
      if (!hi || q[1] > hi[1]) hi = q;
    }
    if (!lo || !hi) {
      if (slice[0]) out.push([slice[0][0], null]);
      continue;
    }
    if (lo === hi) out.push([lo[0], lo[1]]);
    else if (lo[0] < hi[0]) out.push([lo[0], lo[1]], [hi[0], hi[1]]);
    else out.push([hi[0], hi[1]], [lo[0], lo[1]]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Correlation

/**
 * Pearson's r between two roll-up series over the buckets both hold (matched by start time): e.g. a servo's
 * temperature against its load. Null with fewer than 3 shared buckets or no spread in either.
 */
export function correlation(a: readonly ReportBucket[], b: readonly ReportBucket[]): number | null {
  const bt = new Map(dataBuckets(b).map((x) => [x.t, x.avg]));
  const pairs: Array<[number, number]> = [];
  for (const x of dataBuckets(a)) {
    const y = bt.get(x.t);
    if (y !== undefined) pairs.push([x.avg, y]);
  }
  if (pairs.length < 3) return null;
  const mx = pairs.reduce((s, p) => s + p[0], 0) / pairs.length;
  const my = pairs.reduce((s, p) => s + p[1], 0) / pairs.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  if (sxx <= 0 || syy <= 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}
