import type { Queryable } from '../db/database';

export interface SnapshotRow {
  id: number;
  robot_id: string;
  taken_at: Date;
  taken_by_name: string | null;
  width: number | null;
  height: number | null;
  size: number;
  alert_id: number | null;
  note: string | null;
}

export interface SnapshotPosition {
  ts: number;
  id: number;
}

const COLUMNS = 'id, robot_id, taken_at, taken_by_name, width, height, size, alert_id, note';

/** SQL of `camera_snapshots`. */
export class CameraSnapshotsRepository {
  constructor(private readonly db: Queryable) {}

  async insert(row: {
    robot_id: string;
    taken_by: string | null;
    taken_by_name: string | null;
    bytes: Buffer;
    width: number | null;
    height: number | null;
    alert_id: number | null;
    note: string | null;
  }): Promise<SnapshotRow> {
    const { rows } = await this.db.query<SnapshotRow>(
      `INSERT INTO camera_snapshots (robot_id, taken_by, taken_by_name, bytes, width, height, size, alert_id, note)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       RETURNING ${COLUMNS}`,
      [
        row.robot_id,
        row.taken_by,
        row.taken_by_name,
        row.bytes,
        row.width,
        row.height,
        row.bytes.length,
        row.alert_id,
        row.note,
      ],
    );
    return rows[0]!;
  }

  /** A robot's snapshots (or those of one of its alerts), newest first, after `after` (exclusive). */
  async paginate(
    robot_id: string,
    limit: number,
    after?: SnapshotPosition,
    alert_id?: number,
  ): Promise<SnapshotRow[]> {
    const params: unknown[] = [robot_id];
    let where = 'robot_id = $1';
    if (alert_id !== undefined) {
      params.push(alert_id);
      where += ` AND alert_id = $${params.length}`;
    }
    if (after) {
      params.push(new Date(after.ts).toISOString(), after.id);
      where += ` AND (taken_at, id) < ($${params.length - 1}::timestamptz, $${params.length})`;
    }
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT ${COLUMNS} FROM camera_snapshots WHERE ${where}
       ORDER BY taken_at DESC, id DESC LIMIT ${Math.trunc(limit)}`,
      params,
    );
    return rows;
  }

  async countForRobot(robot_id: string, alert_id?: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      alert_id === undefined
        ? 'SELECT count(*) AS n FROM camera_snapshots WHERE robot_id = $1'
        : 'SELECT count(*) AS n FROM camera_snapshots WHERE robot_id = $1 AND alert_id = $2',
      alert_id === undefined ? [robot_id] : [robot_id, alert_id],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The snapshots kept for these alerts, newest first, at most `perAlert` each. */
  async forAlerts(alert_ids: readonly number[], perAlert: number): Promise<SnapshotRow[]> {
    if (alert_ids.length === 0) return [];
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT ${COLUMNS} FROM (
         SELECT ${COLUMNS}, row_number() OVER (PARTITION BY alert_id ORDER BY taken_at DESC, id DESC) AS n
         FROM camera_snapshots WHERE alert_id = ANY($1::int[])
       ) s WHERE n <= ${Math.trunc(perAlert)}
       ORDER BY taken_at DESC, id DESC`,
      [alert_ids],
    );
    return rows;
  }

  /**
   * The snapshots of these robots taken in [from, to): those kept for an alert or with a note first, then the
   * newest, at most `limit` (what a report shows).
   */
  async inPeriod(
    robot_ids: readonly string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<SnapshotRow[]> {
    if (robot_ids.length === 0) return [];
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT ${COLUMNS} FROM camera_snapshots
       WHERE robot_id = ANY($1::text[]) AND taken_at >= $2::timestamptz AND taken_at < $3::timestamptz
       ORDER BY (alert_id IS NOT NULL OR note IS NOT NULL) DESC, taken_at DESC, id DESC
       LIMIT ${Math.trunc(limit)}`,
      [robot_ids, new Date(from).toISOString(), new Date(to).toISOString()],
    );
    return rows;
  }

  /** Deletes one snapshot; its robot when it existed. */
  async delete(id: number): Promise<string | undefined> {
    const { rows } = await this.db.query<{ robot_id: string }>(
      'DELETE FROM camera_snapshots WHERE id = $1 RETURNING robot_id',
      [id],
    );
    return rows[0]?.robot_id;
  }

  /** Deletes up to `batch` snapshots taken before `before`; how many went. */
  async deleteOlderThan(before: number, batch: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      `WITH gone AS (
         DELETE FROM camera_snapshots WHERE id IN (
           SELECT id FROM camera_snapshots WHERE taken_at < $1::timestamptz LIMIT ${Math.trunc(batch)})
         RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [new Date(before).toISOString()],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Deletes every robot's snapshots beyond its newest `keep`; how many went. */
  async deleteBeyond(keep: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      `WITH ranked AS (
         SELECT id, row_number() OVER (PARTITION BY robot_id ORDER BY taken_at DESC, id DESC) AS n
         FROM camera_snapshots),
       gone AS (
         DELETE FROM camera_snapshots WHERE id IN (SELECT id FROM ranked WHERE n > ${Math.trunc(keep)})
         RETURNING 1)
       SELECT count(*) AS n FROM gone`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async findImage(id: number): Promise<{ robot_id: string; bytes: Buffer } | undefined> {
    const { rows } = await this.db.query<{ robot_id: string; bytes: Uint8Array }>(
      'SELECT robot_id, bytes FROM camera_snapshots WHERE id = $1',
      [id],
    );
    const r = rows[0];
    return (
      r && {
        robot_id: r.robot_id,
        bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
      }
    );
  }
}
