import {
  AGGREGATES,
  MEASUREMENT_NAMES,
  type MeasurementName,
  type TelemetryFieldsResponse,
  type TelemetryQuery,
  type TelemetryResponse,
} from '@tonypi/contracts';
import type { z } from 'zod';
import type { TelemetryStore } from './telemetry-store';

/** What the queries need of the robots domain: an unknown robot is a 404 `robot_not_found`. */
export interface KnownRobots {
  require(robot_id: string): Promise<unknown>;
}

/**
 * Reads of stored telemetry for the API. The query arrives parsed by its schema (TelemetryQuery:
 * every field, and the window's order and span), so the store never sees it unchecked.
 */
export class TelemetryService {
  constructor(
    private readonly store: TelemetryStore,
    private readonly robots: KnownRobots,
  ) {}

  async range(
    robot_id: string,
    q: z.output<typeof TelemetryQuery>,
  ): Promise<z.infer<typeof TelemetryResponse>> {
    await this.robots.require(robot_id);
    const { from, to } = q.window;
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
