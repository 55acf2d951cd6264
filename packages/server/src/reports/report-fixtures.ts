import type {
  ReportAlertInput,
  ReportBucket,
  ReportInput,
  ReportJobInput,
  ReportSeriesInput,
} from './report-input';

/** Generated report data with known answers, for the reports' tests and bench (no store involved). */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Monday 2026-11-23 00:00 UTC. */
export const T0 = Date.UTC(2026, 10, 23);

/** A seeded PRNG (mulberry32): the same data on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Minute (or `bucket_ms`) buckets from `from`: `value(i, t)` gives bucket i's average, or null for no data.
 * min/max sit `spread` either side of the average; each bucket holds `count` points.
 */
export function buckets(
  from: number,
  n: number,
  value: (i: number, t: number) => number | null,
  opts: { bucket_ms?: number; spread?: number; count?: number } = {},
): ReportBucket[] {
  const ms = opts.bucket_ms ?? MINUTE;
  const spread = opts.spread ?? 0;
  const out: ReportBucket[] = [];
  for (let i = 0; i < n; i++) {
    const t = from + i * ms;
    const v = value(i, t);
    out.push(
      v === null
        ? { t, avg: null, min: null, max: null, count: 0 }
        : { t, avg: v, min: v - spread, max: v + spread, count: opts.count ?? 60 },
    );
  }
  return out;
}

export function series(
  robot_id: string,
  measurement: string,
  field: string,
  b: ReportBucket[],
  tags: Record<string, string> = {},
  bucket_ms = MINUTE,
): ReportSeriesInput {
  return { robot_id, measurement, field, tags, bucket_ms, buckets: b };
}

export interface RobotSpec {
  robot_id: string;
  /** Minutes offline [start, end) from the period's start. */
  offline?: Array<[number, number]>;
  /** Servo ids whose temperature runs hot (~68 °C against a 60 °C warning). */
  hotServos?: string[];
  /** Battery % at the start and its fall per hour (a straight discharge). */
  battery?: { start: number; perHour: number } | null;
  cpuBase?: number;
}

/** The built-in rules' levels (alerts/alert-rules.ts DEFAULT_RULES). */
export const DEFAULT_LEVELS: ReportInput['levels'] = [
  { measurement: 'system', field: 'cpu_percent', direction: 'above', warning: 70, critical: 90, tags: null },
  {
    measurement: 'system',
    field: 'memory_percent',
    direction: 'above',
    warning: 75,
    critical: 90,
    tags: null,
  },
  {
    measurement: 'system',
    field: 'cpu_temperature_c',
    direction: 'above',
    warning: 70,
    critical: 80,
    tags: null,
  },
  { measurement: 'battery', field: 'percent', direction: 'below', warning: 20, critical: 10, tags: null },
  {
    measurement: 'servos',
    field: 'temperature_c',
    direction: 'above',
    warning: 60,
    critical: 75,
    tags: null,
  },
  { measurement: 'servos', field: 'voltage_v', direction: 'below', warning: 5.9, critical: 5.6, tags: null },
];

/**
 * A report input over `hours` from T0 with minute (or `bucket_ms`) roll-ups for each robot: system (cpu, memory, disk, cpu
 * temperature), battery, 6 servos (temperature, voltage, load, position), a few jobs and alerts.
 */
export function generatedInput(
  robots: RobotSpec[],
  opts: {
    hours?: number;
    kind?: ReportInput['kind'];
    sections?: ReportInput['sections'];
    seed?: number;
    /** Roll-up length (default a minute). */
    bucket_ms?: number;
  } = {},
): ReportInput {
  const hours = opts.hours ?? 24;
  const bucketMs = opts.bucket_ms ?? MINUTE;
  const perMinute = bucketMs / MINUTE;
  const n = Math.round((hours * HOUR) / bucketMs);
  const from = T0;
  const to = T0 + hours * HOUR;
  const rand = rng(opts.seed ?? 42);
  const noise = (amp: number) => (rand() - 0.5) * 2 * amp;
  const out: ReportSeriesInput[] = [];
  const jobs: ReportJobInput[] = [];
  const alerts: ReportAlertInput[] = [];
  let jobId = 1;
  let alertId = 1;
  for (const r of robots) {
    // Generators take the bucket's start in minutes from the period's start.
    const off = (m: number) => (r.offline ?? []).some(([a, z]) => m >= a && m < z);
    const gen = (f: (m: number) => number) =>
      buckets(from, n, (i) => (off(i * perMinute) ? null : f(i * perMinute)), {
        spread: 1,
        bucket_ms: bucketMs,
      });
    const cpu = r.cpuBase ?? 40;
    out.push(
      series(
        r.robot_id,
        'system',
        'cpu_percent',
        gen(() => cpu + noise(5)),
      ),
    );
    out.push(
      series(
        r.robot_id,
        'system',
        'memory_percent',
        gen(() => 55 + noise(3)),
      ),
    );
    out.push(
      series(
        r.robot_id,
        'system',
        'disk_percent',
        gen((m) => 30 + m / (hours * 60)),
      ),
    );
    out.push(
      series(
        r.robot_id,
        'system',
        'cpu_temperature_c',
        gen(() => 52 + noise(2)),
      ),
    );
    if (r.battery !== null) {
      const b = r.battery ?? { start: 95, perHour: 0 };
      out.push(
        series(
          r.robot_id,
          'battery',
          'percent',
          gen((m) => Math.max(b.start - (b.perHour * m) / 60, 0)),
        ),
      );
      out.push(
        series(
          r.robot_id,
          'battery',
          'voltage_v',
          gen((m) => 9 + (3.6 * Math.max(b.start - (b.perHour * m) / 60, 0)) / 100),
        ),
      );
    }
    for (const id of ['1', '2', '3', '4', '5', '6']) {
      const hot = r.hotServos?.includes(id);
      const tags = { servo_id: id };
      out.push(
        series(
          r.robot_id,
          'servos',
          'temperature_c',
          gen(() => (hot ? 68 : 42) + noise(1.5)),
          tags,
        ),
      );
      out.push(
        series(
          r.robot_id,
          'servos',
          'voltage_v',
          gen(() => 7.4 + noise(0.05)),
          tags,
        ),
      );
      out.push(
        series(
          r.robot_id,
          'servos',
          'load_percent',
          gen(() => (hot ? 70 : 35) + noise(5)),
          tags,
        ),
      );
      out.push(
        series(
          r.robot_id,
          'servos',
          'position',
          gen(() => 500 + noise(100)),
          tags,
        ),
      );
    }
    for (let h = 1; h < hours; h += 4) {
      const start = from + h * HOUR;
      const ok = jobId % 5 !== 0;
      jobs.push({
        id: jobId++,
        robot_id: r.robot_id,
        task_name: 'sort items',
        status: ok ? 'completed' : 'failed',
        success: ok,
        items_done: ok ? 30 : 10,
        start_time: start,
        end_time: start + 30 * MINUTE,
      });
    }
    for (const id of r.hotServos ?? []) {
      alerts.push({
        id: alertId++,
        robot_id: r.robot_id,
        alert_type: 'servos.temperature_c',
        severity: 'warning',
        title: `Servo ${id} temperature`,
        source: `servo:${id}`,
        created_at: from + HOUR,
        resolved_at: from + 3 * HOUR,
      });
    }
  }
  for (const s of out) s.bucket_ms = bucketMs;
  return {
    kind: opts.kind ?? 'fleet_summary',
    sections: opts.sections ?? [
      'availability',
      'performance',
      'battery',
      'servos',
      'jobs',
      'alerts',
      'anomalies',
    ],
    title: 'Fleet summary',
    scope: { robot_id: robots.length === 1 ? robots[0]!.robot_id : null, tag: null },
    from,
    to,
    generated_at: to + 5 * MINUTE,
    robots: robots.map((r) => ({ robot_id: r.robot_id, name: null, first_seen: from - DAY })),
    series: out,
    alerts,
    jobs,
    levels: DEFAULT_LEVELS,
  };
}
