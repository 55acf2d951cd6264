import {
  AGGREGATES,
  FIELD_NAME_RE,
  MEASUREMENT_NAMES,
  type MeasurementName,
  type TelemetryFieldsResponse,
  type TelemetryQuery,
  type TelemetryResponse,
} from '@tonypi/contracts';
import type { z } from 'zod';
import { ApiError } from '../http/api-error';
import type { RobotsService } from '../robots/robots.service';
import type { TelemetryStore } from './telemetry-store';

const DURATION_RE = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;
/** The longest window one query may span. */
const MAX_WINDOW_MS = 3 * 365 * 86_400_000;

/** Reads of stored telemetry for the API: validates what the store must not see unchecked. */
export class TelemetryService {
  constructor(
    private readonly store: TelemetryStore,
    private readonly robots: RobotsService,
    private readonly now: () => number = Date.now,
  ) {}

  async range(
    robot_id: string,
    q: z.infer<typeof TelemetryQuery>,
  ): Promise<z.infer<typeof TelemetryResponse>> {
    await this.robots.require(robot_id);
    const now = this.now();
    const to = q.to === undefined ? now : parseTime(q.to, now, 'to');
    const from = q.from === undefined ? to - 3600_000 : parseTime(q.from, now, 'from');
    if (from >= to)
      throw new ApiError(400, 'validation_error', '`from` must be before `to`', { from: q.from, to: q.to });
    if (to - from > MAX_WINDOW_MS)
      throw new ApiError(400, 'validation_error', 'The window may span at most 3 years');
    const fields = parseFields(q.field);
    const result = await this.store.range({
      robot_id,
      measurement: q.measurement,
      fields,
      from,
      to,
      points: q.points,
      tags: q.servo_id === undefined ? undefined : { servo_id: q.servo_id },
    });
    return {
      robot_id,
      measurement: q.measurement,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      resolution: result.resolution,
      bucket_ms: result.bucket_ms,
      aggregates: [...AGGREGATES],
      series: result.series.map((s) => ({
        field: s.field,
        tags: s.tags,
        points: s.buckets.map((b) => ({ ...b, t: new Date(b.t).toISOString() })),
      })),
    };
  }

  async fields(robot_id: string): Promise<z.infer<typeof TelemetryFieldsResponse>> {
    await this.robots.require(robot_id);
    const measurements: Record<string, string[]> = {};
    for (const m of MEASUREMENT_NAMES as MeasurementName[]) {
      const names = await this.store.fields(robot_id, m, 7 * 86_400_000);
      if (names.length > 0) measurements[m] = names;
    }
    return { robot_id, measurements };
  }
}

export function parseTime(value: string, now: number, name: string): number {
  const duration = DURATION_RE.exec(value);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new ApiError(
      400,
      'validation_error',
      `\`${name}\` is not a date-time, epoch ms or duration: ${value}`,
      {
        fields: [{ field: `querystring.${name}`, message: 'not a date-time, epoch ms or duration like 6h' }],
      },
    );
  }
  return t;
}

function parseFields(field: string | string[] | undefined): string[] {
  if (field === undefined) return [];
  const names = (Array.isArray(field) ? field : [field]).flatMap((f) => f.split(',')).map((f) => f.trim());
  const bad = names.filter((n) => !FIELD_NAME_RE.test(n));
  if (bad.length > 0) {
    throw new ApiError(
      400,
      'validation_error',
      `Not a field name: ${bad.map((b) => b.slice(0, 64)).join(', ')}`,
      {
        fields: bad.map(() => ({ field: 'querystring.field', message: 'lower-case letters, digits and _' })),
      },
    );
  }
  if (names.length > 50) throw new ApiError(400, 'validation_error', 'At most 50 fields per query');
  return [...new Set(names)];
}
