import {
  AGGREGATES,
  MEASUREMENT_NAMES,
  type MeasurementName,
  type Resolution,
  type TelemetryFieldsResponse,
  type TelemetryQuery,
  type TelemetryResponse,
} from '@tonypi/contracts';
import type { z } from 'zod';
import type { RangeQuery, TelemetryStore } from './telemetry-store';

const CLOSE = Buffer.from('}');

/** What the queries need of the robots domain: an unknown robot is a 404 `robot_not_found`. */
export interface KnownRobots {
  requireKnown(robot_id: string): Promise<void>;
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
    await this.robots.requireKnown(robot_id);
    const result = await this.store.range(this.storeQuery(robot_id, q));
    return {
      ...this.head(robot_id, q, result),
      series: result.series.map((s) => ({
        field: s.field,
        tags: s.tags,
        points: s.buckets.map((b) => ({ ...b, t: new Date(b.t).toISOString() })),
      })),
    };
  }

  /**
   * The same answer as JSON text in pieces of UTF-8, what the route sends (in order, unjoined): from the
   * store's prepared text when it keeps one (its closed buckets' text is neither rebuilt nor copied per
   * poll), else serialised from `range`.
   */
  async rangeJson(robot_id: string, q: z.output<typeof TelemetryQuery>): Promise<Buffer[]> {
    if (!this.store.rangeJson) return [Buffer.from(JSON.stringify(await this.range(robot_id, q)))];
    await this.robots.requireKnown(robot_id);
    const result = await this.store.rangeJson(this.storeQuery(robot_id, q));
    const head = JSON.stringify(this.head(robot_id, q, result));
    // The head's closing brace gives way to the series: the same text as JSON.stringify of `range`'s answer.
    return [Buffer.from(`${head.slice(0, -1)},"series":`), ...result.series_json, CLOSE];
  }

  private storeQuery(robot_id: string, q: z.output<typeof TelemetryQuery>): RangeQuery {
    return {
      robot_id,
      measurement: q.measurement,
      fields: q.field ?? [],
      from: q.window.from,
      to: q.window.to,
      points: q.points,
      tags: q.servo_id === undefined ? undefined : { servo_id: q.servo_id },
    };
  }

  private head(
    robot_id: string,
    q: z.output<typeof TelemetryQuery>,
    result: { resolution: Resolution; bucket_ms: number },
  ): Omit<z.infer<typeof TelemetryResponse>, 'series'> {
    return {
      robot_id,
      measurement: q.measurement,
      from: new Date(q.window.from).toISOString(),
      to: new Date(q.window.to).toISOString(),
      resolution: result.resolution,
      bucket_ms: result.bucket_ms,
      aggregates: [...AGGREGATES],
    };
  }

  async fields(robot_id: string): Promise<z.infer<typeof TelemetryFieldsResponse>> {
    await this.robots.requireKnown(robot_id);
    const measurements: Record<string, string[]> = {};
    for (const m of MEASUREMENT_NAMES as MeasurementName[]) {
      const names = await this.store.fields(robot_id, m, 7 * 86_400_000);
      if (names.length > 0) measurements[m] = names;
    }
    return { robot_id, measurements };
  }
}
