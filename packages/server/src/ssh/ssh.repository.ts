import type { SshSession } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export interface SshSettingsRow {
  robot_id: string;
  host: string | null;
  port: number;
  username: string;
  secrets_sealed: string;
  has_password: boolean;
  private_key_type: string | null;
  transcript: boolean;
  host_key_type: string | null;
  host_key_sha256: string | null;
  host_key_pinned_at: Date | null;
  updated_at: Date;
  updated_by: string | null;
}

interface SessionRow {
  id: string;
  robot_id: string;
  user_id: string | null;
  username: string | null;
  remote_addr: string | null;
  host: string;
  started_at: Date;
  ended_at: Date | null;
  bytes_in: string | number;
  bytes_out: string | number;
  end_reason: string | null;
  error_code: string | null;
  has_transcript: boolean;
}

const toSession = (r: SessionRow): SshSession => ({
  id: r.id,
  robot_id: r.robot_id,
  user_id: r.user_id,
  username: r.username,
  remote_addr: r.remote_addr,
  host: r.host,
  started_at: r.started_at.toISOString(),
  ended_at: r.ended_at?.toISOString() ?? null,
  bytes_in: Number(r.bytes_in),
  bytes_out: Number(r.bytes_out),
  end_reason: r.end_reason,
  error_code: r.error_code,
  has_transcript: r.has_transcript,
});

const SESSION_COLUMNS = `id, robot_id, user_id, username, remote_addr, host, started_at, ended_at, bytes_in, bytes_out,
  end_reason, error_code, transcript IS NOT NULL AS has_transcript`;

/** SQL of `robot_ssh_settings` and `ssh_sessions`. */
export class SshRepository {
  constructor(private readonly db: Queryable) {}

  async settings(robot_id: string): Promise<SshSettingsRow | undefined> {
    const { rows } = await this.db.query<SshSettingsRow>(
      'SELECT * FROM robot_ssh_settings WHERE robot_id = $1',
      [robot_id],
    );
    return rows[0];
  }

  /** Inserts or replaces the settings; a new host or port forgets the pinned host key (it is another server). */
  async upsert(
    row: Omit<SshSettingsRow, 'host_key_type' | 'host_key_sha256' | 'host_key_pinned_at' | 'updated_at'>,
  ): Promise<SshSettingsRow> {
    const { rows } = await this.db.query<SshSettingsRow>(
      `INSERT INTO robot_ssh_settings (robot_id, host, port, username, secrets_sealed, has_password, private_key_type,
         transcript, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (robot_id) DO UPDATE SET
         host = EXCLUDED.host, port = EXCLUDED.port, username = EXCLUDED.username,
         secrets_sealed = EXCLUDED.secrets_sealed, has_password = EXCLUDED.has_password,
         private_key_type = EXCLUDED.private_key_type, transcript = EXCLUDED.transcript,
         updated_by = EXCLUDED.updated_by, updated_at = CURRENT_TIMESTAMP,
         host_key_type = CASE WHEN robot_ssh_settings.host IS NOT DISTINCT FROM EXCLUDED.host
           AND robot_ssh_settings.port = EXCLUDED.port THEN robot_ssh_settings.host_key_type END,
         host_key_sha256 = CASE WHEN robot_ssh_settings.host IS NOT DISTINCT FROM EXCLUDED.host
           AND robot_ssh_settings.port = EXCLUDED.port THEN robot_ssh_settings.host_key_sha256 END,
         host_key_pinned_at = CASE WHEN robot_ssh_settings.host IS NOT DISTINCT FROM EXCLUDED.host
           AND robot_ssh_settings.port = EXCLUDED.port THEN robot_ssh_settings.host_key_pinned_at END
       RETURNING *`,
      [
        row.robot_id,
        row.host,
        row.port,
        row.username,
        row.secrets_sealed,
        row.has_password,
        row.private_key_type,
        row.transcript,
        row.updated_by,
      ],
    );
    return rows[0]!;
  }

  async remove(robot_id: string): Promise<boolean> {
    const { rows } = await this.db.query(
      'DELETE FROM robot_ssh_settings WHERE robot_id = $1 RETURNING robot_id',
      [robot_id],
    );
    return rows.length > 0;
  }

  /**
   * Pins a host key when none is pinned yet; false when another one was pinned meanwhile (two first
   * connections at once: the first wins, the second is then checked against it).
   */
  async pinHostKey(robot_id: string, key: { type: string; fingerprint: string }): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE robot_ssh_settings SET host_key_type = $2, host_key_sha256 = $3, host_key_pinned_at = CURRENT_TIMESTAMP
       WHERE robot_id = $1 AND host_key_sha256 IS NULL RETURNING robot_id`,
      [robot_id, key.type.slice(0, 64), key.fingerprint.slice(0, 64)],
    );
    return rows.length > 0;
  }

  /** Forgets the pinned host key: the next connection pins whatever the host presents. */
  async clearHostKey(robot_id: string): Promise<SshSettingsRow | undefined> {
    const { rows } = await this.db.query<SshSettingsRow>(
      `UPDATE robot_ssh_settings SET host_key_type = NULL, host_key_sha256 = NULL, host_key_pinned_at = NULL
       WHERE robot_id = $1 RETURNING *`,
      [robot_id],
    );
    return rows[0];
  }

  async startSession(s: {
    id: string;
    robot_id: string;
    user_id: string | null;
    username: string | null;
    remote_addr: string | null;
    host: string;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO ssh_sessions (id, robot_id, user_id, username, remote_addr, host) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        s.id,
        s.robot_id,
        s.user_id,
        s.username?.slice(0, 50) ?? null,
        s.remote_addr?.slice(0, 64) ?? null,
        s.host.slice(0, 260),
      ],
    );
  }

  async endSession(
    id: string,
    end: {
      bytes_in: number;
      bytes_out: number;
      end_reason: string;
      error_code: string | null;
      transcript?: Buffer;
    },
  ): Promise<void> {
    await this.db.query(
      `UPDATE ssh_sessions SET ended_at = CURRENT_TIMESTAMP, bytes_in = $2, bytes_out = $3, end_reason = $4,
         error_code = $5, transcript = $6 WHERE id = $1 AND ended_at IS NULL`,
      [id, end.bytes_in, end.bytes_out, end.end_reason, end.error_code, end.transcript ?? null],
    );
  }

  async sessions(robot_id: string, limit: number): Promise<SshSession[]> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM ssh_sessions WHERE robot_id = $1 ORDER BY started_at DESC, id DESC
       LIMIT ${Math.trunc(limit)}`,
      [robot_id],
    );
    return rows.map(toSession);
  }

  async session(id: string): Promise<(SshSession & { transcript: Buffer | null }) | undefined> {
    const { rows } = await this.db.query<SessionRow & { transcript: Buffer | Uint8Array | null }>(
      `SELECT ${SESSION_COLUMNS}, transcript FROM ssh_sessions WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return undefined;
    return { ...toSession(r), transcript: r.transcript ? Buffer.from(r.transcript) : null };
  }
}
