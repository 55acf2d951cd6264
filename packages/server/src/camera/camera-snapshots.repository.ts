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

  /** A robot's snapshots, newest first, after `after` (exclusive). */
  async paginate(robot_id: string, limit: number, after?: SnapshotPosition): Promise<SnapshotRow[]> {
    const params: unknown[] = [robot_id];
    let where = 'robot_id = $1';
    if (after) {
      params.push(new Date(after.ts).toISOString(), after.id);
      where += ' AND (taken_at, id) < ($2::timestamptz, $3)';
    }
    const { rows } = await this.db.query<SnapshotRow>(
      `SELECT ${COLUMNS} FROM camera_snapshots WHERE ${where}
       ORDER BY taken_at DESC, id DESC LIMIT ${Math.trunc(limit)}`,
      params,
    );
    return rows;
  }

  async countForRobot(robot_id: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      'SELECT count(*) AS n FROM camera_snapshots WHERE robot_id = $1',
      [robot_id],
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
