import type { Queryable } from '../db/database';
import { ROBOT_COLUMNS, type RobotLocation, type RobotRow } from './robots.repository';

/** What an admin sets on a robot; undefined leaves a field as it is, null clears it. */
export interface RobotFields {
  name?: string | null;
  description?: string | null;
  location?: RobotLocation | null;
  ip_address?: string | null;
  camera_url?: string | null;
  thresholds?: {
    battery_low?: number | null;
    battery_critical?: number | null;
    temp_warning?: number | null;
    temp_critical?: number | null;
  };
  settings?: Record<string, unknown> | null;
  tags?: string[];
}

export interface CredentialRow {
  robot_id: string;
  /** null: a deleted robot that never had credentials. */
  secret_hash: string | null;
  /** The robot is soft-deleted: its credentials are kept (a restore brings them back), but refused. */
  deleted: boolean;
}

/** Column ← field, with the cast each value needs. */
function assignments(fields: RobotFields): Array<[column: string, value: unknown, cast: string]> {
  const out: Array<[string, unknown, string]> = [];
  const put = (column: string, value: unknown, cast = '') => {
    if (value !== undefined) out.push([column, value, cast]);
  };
  put('name', fields.name);
  put('description', fields.description);
  put('location', fields.location === undefined ? undefined : JSON.stringify(fields.location), '::jsonb');
  put('ip_address', fields.ip_address);
  put('camera_url', fields.camera_url);
  put('battery_threshold_low', fields.thresholds?.battery_low);
  put('battery_threshold_critical', fields.thresholds?.battery_critical);
  put('temp_threshold_warning', fields.thresholds?.temp_warning);
  put('temp_threshold_critical', fields.thresholds?.temp_critical);
  put('settings', fields.settings === undefined ? undefined : JSON.stringify(fields.settings), '::jsonb');
  put('tags', fields.tags, '::text[]');
  return out;
}

/** The writes an admin makes to robots and their credentials: each runs inside the caller's transaction. */
export class RobotAdminRepository {
  constructor(private readonly db: Queryable) {}

  /** The robot's row and whether it has credentials, locked until the transaction ends. */
  async lock(
    tx: Queryable,
    robot_id: string,
  ): Promise<{ row: RobotRow; hasCredentials: boolean } | undefined> {
    const { rows } = await tx.query<RobotRow & { has_credentials: boolean }>(
      `SELECT ${ROBOT_COLUMNS},
         EXISTS (SELECT 1 FROM robot_credentials c WHERE c.robot_id = robots.robot_id) AS has_credentials
       FROM robots WHERE robot_id = $1 FOR UPDATE`,
      [robot_id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { has_credentials, ...robot } = row;
    return { row: robot, hasCredentials: has_credentials };
  }

  /** A new robot, active (an admin registered it). */
  async insert(tx: Queryable, robot_id: string, fields: RobotFields): Promise<RobotRow> {
    const set = assignments(fields);
    const columns = ['robot_id', 'registration', ...set.map(([c]) => c)];
    const values = ['$1', `'active'`, ...set.map(([, , cast], i) => `$${i + 2}${cast}`)];
    const { rows } = await tx.query<RobotRow>(
      `INSERT INTO robots (${columns.join(', ')}) VALUES (${values.join(', ')}) RETURNING ${ROBOT_COLUMNS}`,
      [robot_id, ...set.map(([, v]) => v)],
    );
    return rows[0]!;
  }

  /** Changes the given fields; `activate` also makes a pending robot active (a claim). */
  async update(tx: Queryable, robot_id: string, fields: RobotFields, activate = false): Promise<RobotRow> {
    const set = assignments(fields);
    const parts = set.map(([column, , cast], i) => `${column} = $${i + 2}${cast}`);
    if (activate) parts.push(`registration = 'active'`);
    parts.push('updated_at = CURRENT_TIMESTAMP');
    const { rows } = await tx.query<RobotRow>(
      `UPDATE robots SET ${parts.join(', ')} WHERE robot_id = $1 RETURNING ${ROBOT_COLUMNS}`,
      [robot_id, ...set.map(([, v]) => v)],
    );
    return rows[0]!;
  }

  /** Soft delete (`deleted` true) or restore. */
  async setDeleted(tx: Queryable, robot_id: string, deleted: boolean): Promise<RobotRow> {
    const { rows } = await tx.query<RobotRow>(
      `UPDATE robots SET deleted_at = ${deleted ? 'CURRENT_TIMESTAMP' : 'NULL'}, is_active = $2,
         status = CASE WHEN $2 THEN status ELSE 'offline' END, updated_at = CURRENT_TIMESTAMP
       WHERE robot_id = $1 RETURNING ${ROBOT_COLUMNS}`,
      [robot_id, !deleted],
    );
    return rows[0]!;
  }

  async insertCredentials(tx: Queryable, robot_id: string, secretHash: string): Promise<void> {
    await tx.query('INSERT INTO robot_credentials (robot_id, secret_hash) VALUES ($1, $2)', [
      robot_id,
      secretHash,
    ]);
  }

  async replaceCredentials(tx: Queryable, robot_id: string, secretHash: string): Promise<void> {
    await tx.query(
      'UPDATE robot_credentials SET secret_hash = $2, rotated_at = CURRENT_TIMESTAMP WHERE robot_id = $1',
      [robot_id, secretHash],
    );
  }

  /** Every robot the broker must know about: those with credentials, and deleted ones (refused). */
  async listAccess(q: Queryable = this.db): Promise<CredentialRow[]> {
    const { rows } = await q.query<CredentialRow>(
      `SELECT r.robot_id, c.secret_hash, r.deleted_at IS NOT NULL AS deleted
       FROM robots r LEFT JOIN robot_credentials c ON c.robot_id = r.robot_id
       WHERE c.robot_id IS NOT NULL OR r.deleted_at IS NOT NULL`,
    );
    return rows;
  }

  /**
   * Serialises changes to the external broker's robot accounts with the start-up reconcile (broker/dynsec/),
   * across server instances: a change takes the lock shared (changes do not wait for each other), a
   * reconcile exclusive, so it never reads the table while a change it would undo is in flight. Held until
   * `tx` ends.
   */
  async lockBrokerAccounts(tx: Queryable, mode: 'change' | 'reconcile'): Promise<void> {
    const fn = mode === 'change' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await tx.query(`SELECT ${fn}($1)`, [BROKER_ACCOUNTS_LOCK]);
  }
}

/** The advisory-lock key of the robots' broker accounts ("tpba"). */
const BROKER_ACCOUNTS_LOCK = 0x74706261;
