import { type Robot, type RobotLatest, type RobotListQuery, servableUrl } from '@tonypi/contracts';
import type { z } from 'zod';
import { robotNotFound } from '../http/api-error';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import type { RobotRegistry, RobotRuntime } from './robot-registry';
import type { RobotRow, RobotsRepository } from './robots.repository';

type RobotDto = z.infer<typeof Robot>;
type LatestDto = z.infer<typeof RobotLatest>;

/** Robots as the API shows them: the database row, overlaid with what the registry knows now. */
export class RobotsService {
  constructor(
    private readonly repo: RobotsRepository,
    private readonly registry: RobotRegistry,
    private readonly store: TelemetryStore,
  ) {}

  async list(query: z.infer<typeof RobotListQuery>): Promise<{ items: RobotDto[]; total: number }> {
    // Newly seen robots reach the table within one registry flush; write them before listing.
    await this.registry.flush();
    const { items, total } = await this.repo.list(query);
    return { items: items.map((row) => this.toDto(row)), total };
  }

  async get(robot_id: string): Promise<RobotDto> {
    return this.toDto(await this.require(robot_id));
  }

  async require(robot_id: string): Promise<RobotRow> {
    let row = await this.repo.findByRobotId(robot_id);
    if (!row && this.registry.get(robot_id)) {
      await this.registry.flush();
      row = await this.repo.findByRobotId(robot_id);
    }
    if (!row) throw robotNotFound(robot_id);
    return row;
  }

  async latest(robot_id: string): Promise<LatestDto> {
    const row = await this.require(robot_id);
    const runtime = this.registry.get(row.robot_id);
    const fromMemory = runtime ? latestOf(runtime) : { measurements: {}, servos: {} };
    if (Object.keys(fromMemory.measurements).length > 0 || Object.keys(fromMemory.servos).length > 0) {
      return fromMemory;
    }
    // Nothing since this server started: ask the store (bounded look-back keeps it fast).
    const points = await this.store.latest(robot_id, { lookback_ms: 24 * 3600_000 });
    const out: LatestDto = { measurements: {}, servos: {} };
    for (const p of points) {
      const value = { ts: new Date(p.ts).toISOString(), fields: p.fields };
      if (p.measurement === 'servos' && p.tags.servo_id !== undefined) out.servos[p.tags.servo_id] = value;
      else out.measurements[p.measurement] = value;
    }
    return out;
  }

  private toDto(row: RobotRow): RobotDto {
    const runtime = this.registry.get(row.robot_id);
    const lastSeen = runtime?.last_seen ?? row.last_seen?.getTime() ?? null;
    return {
      robot_id: row.robot_id,
      name: row.name,
      description: row.description,
      status: runtime?.status ?? (row.status as RobotDto['status']),
      status_reason: runtime?.status_reason ?? null,
      registration: runtime?.registration ?? row.registration,
      protocol: runtime?.protocol ?? row.protocol,
      ip_address: runtime?.ip_address ?? row.ip_address,
      camera_url: servableUrl(runtime?.camera_url ?? row.camera_url),
      location: runtime?.location ?? row.location,
      last_seen: lastSeen === null ? null : new Date(lastSeen).toISOString(),
      first_seen: row.first_seen ? row.first_seen.toISOString() : null,
      created_at: row.created_at.toISOString(),
      is_active: row.is_active,
      thresholds: {
        battery_low: row.battery_threshold_low,
        battery_critical: row.battery_threshold_critical,
        temp_warning: row.temp_threshold_warning,
        temp_critical: row.temp_threshold_critical,
      },
      latest: runtime ? latestOf(runtime) : { measurements: {}, servos: {} },
    };
  }
}

function latestOf(r: RobotRuntime): LatestDto {
  const measurements: LatestDto['measurements'] = {};
  for (const [m, v] of Object.entries(r.latest)) {
    if (v) measurements[m] = { ts: new Date(v.ts).toISOString(), fields: v.fields };
  }
  const servos: LatestDto['servos'] = {};
  for (const [id, v] of Object.entries(r.servos))
    servos[id] = { ts: new Date(v.ts).toISOString(), fields: v.fields };
  return { measurements, servos };
}
