import {
  AGGREGATES,
  MEASUREMENT_NAMES,
  type MeasurementName,
  type TelemetryFieldsResponse,
  type TelemetryQuery,
  type TelemetryResponse,
  type TimeParam,
} from '@tonypi/contracts';
import type { z } from 'zod';
import { ApiError } from '../errors';
import type { TelemetryStore } from './telemetry-store';

/** The longest window one query may span. */
const MAX_WINDOW_MS = 3 * 365 * 86_400_000;

/** What the queries need of the robots domain: an unknown robot is a 404 `robot_not_found`. */
export interface KnownRobots {
  require(robot_id: string): Promise<unknown>;
}

/** Reads of stored telemetry for the API: validates what the store must not see unchecked. */
export class TelemetryService {
  constructor(
    private readonly store: TelemetryStore,
    private readonly robots: KnownRobots,
    private readonly now: () => number = Date.now,
  ) {}

  async range(
    robot_id: string,
    q: z.output<typeof TelemetryQuery>,
  ): Promise<z.infer<typeof TelemetryResponse>> {
    await this.robots.require(robot_id);
    const now = this.now();
    const to = q.to === undefined ? now : resolveTime(q.to, now);
    const from = q.from === undefined ? to - 3600_000 : resolveTime(q.from, now);
    if (from >= to) throw windowError('`from` must be before `to`', 'must be before `to`');
    if (to - from > MAX_WINDOW_MS)
      throw windowError('The window may span at most 3 years', 'the window may span at most 3 years');
    const fields = q.field ?? [];
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

/** The instant a query's time names; durations count back from `now`. */
export function resolveTime(t: TimeParam, now: number): number {
  return 'at' in t ? t.at : now - t.ago_ms;
}

function windowError(message: string, fieldMessage: string): ApiError {
  return new ApiError(400, 'validation_error', message, {
    fields: [
      { field: 'querystring.from', message: fieldMessage },
      { field: 'querystring.to', message: fieldMessage },
    ],
  });
}
