import { type Robot, type RobotLatest, type RobotListQuery, servableUrl } from '@tonypi/contracts';
import type { z } from 'zod';
import { robotNotFound } from '../errors';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import type { RobotRegistry, RobotRuntime } from './robot-registry';
import type { RobotRow, RobotsRepository } from './robots.repository';

type RobotDto = z.infer<typeof Robot>;
type LatestDto = z.infer<typeof RobotLatest>;
type ListQuery = z.infer<typeof RobotListQuery>;

export interface RobotsServiceOptions {
  /**
   * How long one serialised robot list is served before it is built again, ms (0: every time). Every
   * dashboard polls the list; building and serialising it costs the event loop the ingest runs on, so
   * readers share one answer per interval. Live values reach dashboards over the live stream anyway.
   */
  listMaxAgeMs?: number;
  /** Which robots have MQTT credentials (the rest are anonymous). */
  credentials?: { hasCredentials(robot_id: string): boolean };
  now?: () => number;
}

/** Distinct list queries kept (filters, sort, page); the oldest goes first. */
const LIST_CACHE_ENTRIES = 64;
/** Robot ids remembered as having a row (requireKnown); beyond, the set starts again. */
const KNOWN_MAX = 100_000;

/** Robots as the API shows them: the database row, overlaid with what the registry knows now. */
export class RobotsService {
  private readonly listCache = new Map<string, { builtAt: number; json: Promise<Buffer> }>();
  /** Robots whose row was found. Rows are never removed (a delete only marks one), so once is enough. */
  private readonly known = new Set<string>();
  private readonly listMaxAgeMs: number;
  private readonly now: () => number;
  private readonly credentials: { hasCredentials(robot_id: string): boolean } | undefined;

  constructor(
    private readonly repo: RobotsRepository,
    private readonly registry: RobotRegistry,
    private readonly store: TelemetryStore,
    opts: RobotsServiceOptions = {},
  ) {
    this.listMaxAgeMs = opts.listMaxAgeMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.credentials = opts.credentials;
  }

  /** Answers shared since a change an admin just made are not served again. */
  invalidateList(): void {
    this.listCache.clear();
  }

  async list(query: ListQuery): Promise<{ items: RobotDto[]; total: number }> {
    // A robot seen for the first time reaches the table with the registry's next flush; write it now
    // rather than leave it out. Only then: a flush on every list would put a database write (every
    // robot's last_seen) on each dashboard poll.
    if (this.registry.hasUnwrittenRobots) await this.registry.flush();
    const { items, total } = await this.repo.list(query);
    return { items: items.map((row) => this.toDto(row)), total };
  }

  /**
   * The list as JSON, shared by every reader asking the same within `listMaxAgeMs` (one build at a
   * time per query; readers arriving meanwhile wait for it). The answer is at most that old.
   */
  /** The list as UTF-8 JSON, shared: encoded once per build, not once per poll. */
  listJson(query: ListQuery): Promise<Buffer> {
    const key = JSON.stringify([
      query.status,
      query.search,
      query.tag,
      query.deleted,
      query.sort,
      query.order,
      query.limit,
      query.offset,
    ]);
    const now = this.now();
    const hit = this.listCache.get(key);
    if (hit && now - hit.builtAt < this.listMaxAgeMs) return hit.json;
    // Plain JSON.stringify: the DTO is typed by the response schema; a zod pass over ~100 robots cost
    // ~15 ms of the event loop per answer (docs/performance.md).
    const json = this.list(query).then((list) => Buffer.from(JSON.stringify(list)));
    const entry = { builtAt: now, json };
    this.listCache.delete(key);
    this.listCache.set(key, entry);
    if (this.listCache.size > LIST_CACHE_ENTRIES) {
      const oldest = this.listCache.keys().next().value;
      if (oldest !== undefined) this.listCache.delete(oldest);
    }
    // A failed build is not served again.
    json.catch(() => {
      if (this.listCache.get(key) === entry) this.listCache.delete(key);
    });
    return json;
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

  /**
   * Throws `robot_not_found` unless the robot has a row, reading it only the first time: a dashboard's
   * history polls (a hundred a second) then cost no database statement each (~1.4 ms of the event loop
   * on the embedded engine).
   */
  async requireKnown(robot_id: string): Promise<void> {
    if (this.known.has(robot_id)) return;
    await this.require(robot_id);
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.add(robot_id);
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

  toDto(row: RobotRow): RobotDto {
    const runtime = this.registry.get(row.robot_id);
    const lastSeen = runtime?.last_seen ?? row.last_seen?.getTime() ?? null;
    const hasCredentials = this.credentials?.hasCredentials(row.robot_id) ?? false;
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
      deleted_at: row.deleted_at ? row.deleted_at.toISOString() : null,
      tags: row.tags ?? [],
      has_credentials: hasCredentials,
      anonymous: !hasCredentials,
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
