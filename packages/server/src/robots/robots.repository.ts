import type {
  RobotLocation,
  RobotProtocol,
  RobotRegistration,
  RobotSort,
  RobotStatus,
  SortOrder,
} from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export type { RobotLocation, RobotProtocol, RobotSort };

export interface RobotRow {
  id: number;
  robot_id: string;
  name: string | null;
  description: string | null;
  location: RobotLocation | null;
  status: RobotStatus;
  ip_address: string | null;
  camera_url: string | null;
  battery_threshold_low: number | null;
  battery_threshold_critical: number | null;
  temp_threshold_warning: number | null;
  temp_threshold_critical: number | null;
  settings: Record<string, unknown> | null;
  last_seen: Date | null;
  created_at: Date;
  updated_at: Date | null;
  is_active: boolean;
  protocol: RobotProtocol;
  first_seen: Date | null;
  registration: RobotRegistration;
  tags: string[];
  /** Soft delete: set by an admin, cleared by a restore. */
  deleted_at: Date | null;
}

export interface ListRobotsQuery {
  status?: RobotStatus;
  registration?: RobotRegistration;
  /** Case-insensitive substring of robot_id or name; `%` and `_` match themselves. */
  search?: string;
  /** Robots carrying this tag. */
  tag?: string;
  /** true: only deleted robots; false: only robots not deleted; undefined: all. */
  deleted?: boolean;
  sort?: RobotSort;
  order?: SortOrder;
  limit?: number;
  offset?: number;
}

export interface NewRobot {
  robot_id: string;
  protocol: RobotProtocol;
  seen_at: Date;
}

/** What one message told about a robot; undefined fields keep their stored value. */
export interface RobotSeen {
  robot_id: string;
  last_seen: Date;
  status?: RobotStatus;
  ip_address?: string;
  camera_url?: string;
  location?: RobotLocation;
  protocol?: RobotProtocol;
  /** Set when a pending robot is confirmed. */
  registration?: RobotRegistration;
}

export const ROBOT_COLUMNS = `id, robot_id, name, description, location, status, ip_address, camera_url,
  battery_threshold_low, battery_threshold_critical, temp_threshold_warning, temp_threshold_critical,
  settings, last_seen, created_at, updated_at, is_active, protocol, first_seen, registration, tags, deleted_at`;

const SORT_COLUMNS: Readonly<Record<RobotSort, string>> = {
  robot_id: 'robot_id',
  name: 'name',
  last_seen: 'last_seen',
  status: 'status',
};

/** Statuses an operator sets; the server's own online/offline bookkeeping leaves them alone. */
const KEPT_WHEN_GOING_OFFLINE = ['offline', 'maintenance'];

export class RobotsRepository {
  constructor(private readonly db: Queryable) {}

  async list(query: ListRobotsQuery = {}): Promise<{ items: RobotRow[]; total: number }> {
    const {
      status,
      registration,
      search,
      tag,
      deleted,
      sort = 'robot_id',
      order = 'asc',
      limit = 50,
      offset = 0,
    } = query;
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (status !== undefined) {
      params.push(status);
      conditions.push(`status = $${params.length}`);
    }
    if (registration !== undefined) {
      params.push(registration);
      conditions.push(`registration = $${params.length}`);
    }
    if (tag !== undefined) {
      params.push(tag);
      conditions.push(`$${params.length} = ANY(tags)`);
    }
    if (deleted !== undefined) conditions.push(deleted ? 'deleted_at IS NOT NULL' : 'deleted_at IS NULL');
    if (search !== undefined && search !== '') {
      params.push(`%${escapeLike(search)}%`);
      conditions.push(
        `(robot_id ILIKE $${params.length} ESCAPE '\\' OR name ILIKE $${params.length} ESCAPE '\\')`,
      );
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const direction = order === 'desc' ? 'DESC' : 'ASC';
    const column = SORT_COLUMNS[sort];
    // robot_id breaks ties, so pages neither repeat nor skip robots.
    const orderBy =
      column === 'robot_id'
        ? `robot_id ${direction}`
        : `${column} ${direction} NULLS LAST, robot_id ${direction}`;

    const [page, count] = await Promise.all([
      this.db.query<RobotRow>(
        `SELECT ${ROBOT_COLUMNS} FROM robots ${where} ORDER BY ${orderBy}
         LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      ),
      this.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM robots ${where}`, params),
    ]);
    return { items: page.rows, total: count.rows[0]?.total ?? 0 };
  }

  async findByRobotId(robot_id: string): Promise<RobotRow | undefined> {
    const { rows } = await this.db.query<RobotRow>(
      `SELECT ${ROBOT_COLUMNS} FROM robots WHERE robot_id = $1`,
      [robot_id],
    );
    return rows[0];
  }

  /**
   * Creates the robots not yet known (first contact), `pending` until confirmed, in one statement. Returns the robot_ids it created;
   * robots that exist already, or that another instance created a moment earlier, are left unchanged.
   */
  async registerMany(robots: readonly NewRobot[]): Promise<string[]> {
    const first = new Map<string, NewRobot>();
    for (const robot of robots) {
      const seen = first.get(robot.robot_id);
      if (!seen || robot.seen_at < seen.seen_at) first.set(robot.robot_id, robot);
    }
    if (first.size === 0) return [];
    const batch = [...first.values()];
    const { rows } = await this.db.query<{ robot_id: string }>(
      `INSERT INTO robots (robot_id, protocol, first_seen, last_seen, registration)
       SELECT robot_id, protocol, seen_at, seen_at, 'pending'
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS n(robot_id, protocol, seen_at)
       ON CONFLICT (robot_id) DO NOTHING
       RETURNING robot_id`,
      [batch.map((r) => r.robot_id), batch.map((r) => r.protocol), batch.map((r) => r.seen_at.toISOString())],
    );
    return rows.map((row) => row.robot_id);
  }

  /**
   * Applies a batch of sightings in one statement. A field left undefined keeps its stored value; last_seen
   * never moves backwards. Several entries for one robot merge, later ones winning. Returns the robot_ids
   * updated (unknown robots are skipped: register them first).
   */
  async recordSeen(updates: readonly RobotSeen[]): Promise<string[]> {
    const merged = mergeSightings(updates);
    if (merged.length === 0) return [];
    const { rows } = await this.db.query<{ robot_id: string }>(
      // left(): one over-long value from a robot must not fail the whole batch (robot input is validated
      // upstream; this is the last guard before the column limits).
      `UPDATE robots AS r SET
         last_seen = GREATEST(r.last_seen, u.last_seen),
         status = COALESCE(left(u.status, 20), r.status),
         ip_address = COALESCE(left(u.ip_address, 45), r.ip_address),
         camera_url = COALESCE(left(u.camera_url, 255), r.camera_url),
         location = COALESCE(u.location::jsonb, r.location),
         protocol = COALESCE(u.protocol, r.protocol),
         registration = COALESCE(u.registration, r.registration),
         updated_at = CURRENT_TIMESTAMP
       FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::text[])
         AS u(robot_id, last_seen, status, ip_address, camera_url, location, protocol, registration)
       WHERE r.robot_id = u.robot_id AND r.deleted_at IS NULL
       RETURNING r.robot_id`,
      [
        merged.map((s) => s.robot_id),
        merged.map((s) => s.last_seen.toISOString()),
        merged.map((s) => s.status ?? null),
        merged.map((s) => s.ip_address ?? null),
        merged.map((s) => s.camera_url ?? null),
        merged.map((s) => (s.location === undefined ? null : JSON.stringify(s.location))),
        merged.map((s) => s.protocol ?? null),
        merged.map((s) => s.registration ?? null),
      ],
    );
    return rows.map((row) => row.robot_id);
  }

  /** Marks robots offline (e.g. silent too long); leaves `maintenance` alone. Returns the robot_ids changed. */
  async markOffline(robot_ids: readonly string[]): Promise<string[]> {
    if (robot_ids.length === 0) return [];
    const { rows } = await this.db.query<{ robot_id: string }>(
      `UPDATE robots SET status = 'offline', updated_at = CURRENT_TIMESTAMP
       WHERE robot_id = ANY($1::text[]) AND status <> ALL($2::text[])
       RETURNING robot_id`,
      [[...robot_ids], KEPT_WHEN_GOING_OFFLINE],
    );
    return rows.map((row) => row.robot_id);
  }

  /**
   * At start-up nothing is online until it says so. Leaves `maintenance` alone. Returns how many changed.
   * Only for a single server: with several instances the others still hear their robots.
   */
  async markAllOffline(): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE robots SET status = 'offline', updated_at = CURRENT_TIMESTAMP WHERE status <> ALL($1::text[])`,
      [KEPT_WHEN_GOING_OFFLINE],
    );
    return rowCount;
  }
}

/** `%`, `_` and `\` match themselves in a LIKE pattern with ESCAPE '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function mergeSightings(updates: readonly RobotSeen[]): RobotSeen[] {
  const byRobot = new Map<string, RobotSeen>();
  for (const update of updates) {
    const previous = byRobot.get(update.robot_id);
    if (!previous) {
      byRobot.set(update.robot_id, { ...update });
      continue;
    }
    const next: RobotSeen = { ...previous };
    if (update.last_seen > previous.last_seen) next.last_seen = update.last_seen;
    if (update.status !== undefined) next.status = update.status;
    if (update.ip_address !== undefined) next.ip_address = update.ip_address;
    if (update.camera_url !== undefined) next.camera_url = update.camera_url;
    if (update.location !== undefined) next.location = update.location;
    if (update.protocol !== undefined) next.protocol = update.protocol;
    if (update.registration !== undefined) next.registration = update.registration;
    byRobot.set(update.robot_id, next);
  }
  return [...byRobot.values()];
}
