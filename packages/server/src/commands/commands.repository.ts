import type { CommandState, CommandType, CommandView } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

/** A row of `commands` (migration 0011). */
export interface CommandRow {
  id: string;
  robot_id: string;
  command: CommandType;
  params: Record<string, unknown>;
  status: CommandState;
  message: string | null;
  result: unknown;
  timeout_s: number;
  queue_until: Date | null;
  deadline_at: Date | null;
  batch_id: string | null;
  requested_by: string | null;
  requested_by_id: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Date;
  sent_at: Date | null;
  acknowledged_at: Date | null;
  finished_at: Date | null;
}

export interface NewCommand {
  id: string;
  robot_id: string;
  command: CommandType;
  params: Record<string, unknown>;
  /** `sent`: published before it was stored (an emergency stop). */
  status: 'pending' | 'sent' | 'rejected';
  message?: string | null;
  timeout_s: number;
  queue_until?: Date | null;
  deadline_at: Date | null;
  batch_id?: string | null;
  requested_by: string | null;
  requested_by_id: string | null;
  idempotency_key?: string | null;
  request_hash?: string | null;
}

/** The states a row may move to from, per target state: a row never goes backwards. */
const FROM: Record<Exclude<CommandState, 'pending'>, readonly CommandState[]> = {
  sent: ['pending'],
  acknowledged: ['pending', 'sent'],
  succeeded: ['pending', 'sent', 'acknowledged'],
  failed: ['pending', 'sent', 'acknowledged'],
  timed_out: ['pending', 'sent', 'acknowledged'],
  rejected: ['pending'],
};

/** States as an SQL list (`'a', 'b'`): the states are this file's constants, never input. */
const sqlList = (states: readonly CommandState[]) => states.map((s) => `'${s}'`).join(', ');

const COLUMNS = `id, robot_id, command, params, status, message, result, timeout_s, queue_until, deadline_at,
  batch_id, requested_by, requested_by_id, idempotency_key, request_hash, created_at, sent_at, acknowledged_at,
  finished_at`;

export function toView(row: CommandRow): CommandView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    command_id: row.id,
    robot_id: row.robot_id,
    command: row.command,
    params: row.params,
    status: row.status,
    message: row.message,
    ...(row.result === null || row.result === undefined ? {} : { result: row.result }),
    requested_by: row.requested_by,
    created_at: row.created_at.toISOString(),
    sent_at: iso(row.sent_at),
    acknowledged_at: iso(row.acknowledged_at),
    finished_at: iso(row.finished_at),
  };
}

/** Cursor of the newest-first history: the last row's time and id. */
export function encodeCursor(row: Pick<CommandRow, 'created_at' | 'id'>): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { created_at: Date; id: string } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = text.indexOf('|');
  if (bar < 0) return undefined;
  const created_at = new Date(text.slice(0, bar));
  const id = text.slice(bar + 1);
  if (Number.isNaN(created_at.getTime()) || id.length === 0 || id.length > 64) return undefined;
  return { created_at, id };
}

export class CommandsRepository {
  constructor(
    private readonly db: Queryable,
    /**
     * For what an operator waits on — a command's row and its steps, an emergency stop's rows, the robots'
     * answers: ahead of other waiting statements (Database.urgent). Reads of the history are not urgent.
     */
    private readonly urgent: Queryable = db,
  ) {}

  /** Inserts the row; undefined when its idempotency key is taken (a concurrent twin won). */
  async insert(c: NewCommand, tx: Queryable = this.urgent): Promise<CommandRow | undefined> {
    const { rows } = await tx.query<CommandRow>(
      `INSERT INTO commands (id, robot_id, command, params, status, message, timeout_s, queue_until, deadline_at,
         batch_id, requested_by, requested_by_id, idempotency_key, request_hash, finished_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        c.id,
        c.robot_id,
        c.command,
        JSON.stringify(c.params),
        c.status,
        c.message ?? null,
        c.timeout_s,
        c.queue_until ?? null,
        c.deadline_at,
        c.batch_id ?? null,
        c.requested_by,
        c.requested_by_id,
        c.idempotency_key ?? null,
        c.request_hash ?? null,
        c.status === 'rejected' ? new Date() : null,
      ],
    );
    return rows[0];
  }

  /** Several rows in one statement (a fleet stop); no idempotency keys. */
  async insertMany(cs: readonly NewCommand[]): Promise<CommandRow[]> {
    if (cs.length === 0) return [];
    const { rows } = await this.urgent.query<CommandRow>(
      `INSERT INTO commands (id, robot_id, command, params, status, message, timeout_s, deadline_at, batch_id,
         requested_by, requested_by_id, finished_at, sent_at)
       SELECT id, robot_id, command, params, status, message, timeout_s, deadline_at, batch_id, requested_by,
         requested_by_id, CASE WHEN status = 'rejected' THEN CURRENT_TIMESTAMP END,
         CASE WHEN status = 'sent' THEN CURRENT_TIMESTAMP END
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, robot_id text, command text, params jsonb, status text,
         message text, timeout_s double precision, deadline_at timestamptz, batch_id text, requested_by text,
         requested_by_id text)
       RETURNING ${COLUMNS}`,
      [
        JSON.stringify(
          cs.map((c) => ({
            id: c.id,
            robot_id: c.robot_id,
            command: c.command,
            params: c.params,
            status: c.status,
            message: c.message ?? null,
            timeout_s: c.timeout_s,
            deadline_at: c.deadline_at?.toISOString() ?? null,
            batch_id: c.batch_id ?? null,
            requested_by: c.requested_by,
            requested_by_id: c.requested_by_id,
          })),
        ),
      ],
    );
    return rows;
  }

  async findById(id: string): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(`SELECT ${COLUMNS} FROM commands WHERE id = $1`, [id]);
    return rows[0];
  }

  async findByIdempotencyKey(requested_by_id: string, key: string): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands WHERE requested_by_id = $1 AND idempotency_key = $2`,
      [requested_by_id, key],
    );
    return rows[0];
  }

  /** Frees a key whose first use is older than `before`: from then on it names a new command. */
  async releaseIdempotencyKey(requested_by_id: string, key: string, before: Date): Promise<void> {
    await this.db.query(
      `UPDATE commands SET idempotency_key = NULL
       WHERE requested_by_id = $1 AND idempotency_key = $2 AND created_at < $3`,
      [requested_by_id, key, before],
    );
  }

  async listBatch(batch_id: string): Promise<CommandRow[]> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands WHERE batch_id = $1 ORDER BY robot_id, created_at`,
      [batch_id],
    );
    return rows;
  }

  /** A robot's commands, newest first, after the cursor's row. */
  async paginate(
    robot_id: string,
    q: {
      status?: CommandState;
      command?: CommandType;
      limit: number;
      after?: { created_at: Date; id: string };
    },
  ): Promise<CommandRow[]> {
    const params: unknown[] = [robot_id];
    const where = ['robot_id = $1'];
    if (q.status) {
      params.push(q.status);
      where.push(`status = $${params.length}`);
    }
    if (q.command) {
      params.push(q.command);
      where.push(`command = $${params.length}`);
    }
    if (q.after) {
      params.push(q.after.created_at, q.after.id);
      where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(q.limit);
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows;
  }

  /**
   * Moves a row to `to` if it is still in a state that may (FROM); returns the updated row, or undefined
   * when it had moved on already (answered, timed out, by this server or another).
   */
  async transition(
    id: string,
    to: Exclude<CommandState, 'pending'>,
    fields: { message?: string | null; result?: unknown; robot_id?: string; deadline_at?: Date } = {},
  ): Promise<CommandRow | undefined> {
    const sets = [`status = $2`];
    const params: unknown[] = [id, to];
    // Constant state names, not input: written into the statement.
    const from = sqlList(FROM[to]);
    if (to === 'sent') sets.push('sent_at = CURRENT_TIMESTAMP');
    if (to === 'acknowledged') sets.push('acknowledged_at = CURRENT_TIMESTAMP');
    if (to !== 'sent' && to !== 'acknowledged') sets.push('finished_at = CURRENT_TIMESTAMP');
    if (fields.message !== undefined) {
      params.push(fields.message);
      sets.push(`message = $${params.length}`);
    }
    if (fields.result !== undefined) {
      params.push(JSON.stringify(fields.result));
      sets.push(`result = $${params.length}::jsonb`);
    }
    if (fields.deadline_at !== undefined) {
      params.push(fields.deadline_at);
      sets.push(`deadline_at = $${params.length}`);
    }
    let robotFilter = '';
    if (fields.robot_id !== undefined) {
      params.push(fields.robot_id);
      robotFilter = ` AND robot_id = $${params.length}`;
    }
    const { rows } = await this.urgent.query<CommandRow>(
      `UPDATE commands SET ${sets.join(', ')} WHERE id = $1 AND status IN (${from})${robotFilter}
       RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0];
  }

  /**
   * Robots' answers, many in one statement: acknowledgements (`acknowledged`) and results (`succeeded` /
   * `failed`) together, at most one per command and robot; a result whose acknowledgement came in the same
   * batch says so (`acked`) and records both. Only a row of the answering robot still in a state that may
   * move (FROM) changes; the changed rows are returned. One statement, not one per kind: between two, other
   * work for the database (the log, alerts) got in line first, and a fleet's answers waited for it.
   */
  async applyAnswers(
    answers: ReadonlyArray<{
      id: string;
      robot_id: string;
      status: 'acknowledged' | 'succeeded' | 'failed';
      /** A result whose acknowledgement was in the same batch: `acknowledged_at` is set too. */
      acked?: boolean;
      message: string | null;
      result: unknown;
    }>,
  ): Promise<CommandRow[]> {
    if (answers.length === 0) return [];
    const { rows } = await this.urgent.query<CommandRow>(
      `UPDATE commands c SET
         status = r.status,
         acknowledged_at = CASE WHEN r.status = 'acknowledged' OR r.acked
           THEN COALESCE(c.acknowledged_at, CURRENT_TIMESTAMP) ELSE c.acknowledged_at END,
         finished_at = CASE WHEN r.status = 'acknowledged' THEN c.finished_at ELSE CURRENT_TIMESTAMP END,
         result = CASE WHEN r.status = 'acknowledged' THEN c.result ELSE COALESCE(r.result, c.result) END,
         message = COALESCE(r.message, c.message)
       FROM jsonb_to_recordset($1::jsonb)
         AS r(id text, robot_id text, status text, acked boolean, message text, result jsonb)
       WHERE c.id = r.id AND c.robot_id = r.robot_id
         AND (CASE WHEN r.status = 'acknowledged' THEN c.status IN (${sqlList(FROM.acknowledged)})
              ELSE c.status IN (${sqlList(FROM.succeeded)}) END)
       RETURNING ${COLUMNS.split(',')
         .map((c) => `c.${c.trim()}`)
         .join(', ')}`,
      [JSON.stringify(answers.map((a) => ({ ...a, acked: a.acked ?? false, result: a.result ?? null })))],
    );
    return rows;
  }

  /**
   * Finishes every unfinished row past its deadline: a queued one (never sent) as rejected, the others as
   * timed_out. Each row is returned to the one server whose update changed it.
   */
  async expire(now: Date): Promise<CommandRow[]> {
    const { rows } = await this.db.query<CommandRow>(
      `UPDATE commands SET
         status = CASE WHEN status = 'pending' AND queue_until IS NOT NULL THEN 'rejected' ELSE 'timed_out' END,
         message = CASE WHEN status = 'pending' AND queue_until IS NOT NULL
           THEN 'robot_offline: the robot did not come back within queue_ttl_s'
           ELSE 'no answer from the robot within ' || timeout_s || ' s' END,
         finished_at = CURRENT_TIMESTAMP
       WHERE status IN ('pending', 'sent', 'acknowledged') AND deadline_at <= $1
       RETURNING ${COLUMNS}`,
      [now],
    );
    return rows;
  }

  /** Commands queued for a robot that is back, oldest first. */
  async queuedFor(robot_id: string, now: Date): Promise<CommandRow[]> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${COLUMNS} FROM commands
       WHERE robot_id = $1 AND status = 'pending' AND queue_until IS NOT NULL AND queue_until > $2
       ORDER BY created_at, id`,
      [robot_id, now],
    );
    return rows;
  }

  /** A queued row being sent now: its deadline becomes the command's own time-out. */
  async markQueuedSent(id: string, deadline_at: Date): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'sent', sent_at = CURRENT_TIMESTAMP, deadline_at = $2
       WHERE id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
      [id, deadline_at],
    );
    return rows[0];
  }

  /** Per robot, its newest emergency stop or resume: the robots whose newest is a stop are held stopped. */
  async latestStopOrResume(): Promise<
    Array<{
      robot_id: string;
      command: CommandType;
      params: Record<string, unknown>;
      batch_id: string | null;
      requested_by: string | null;
      requested_by_id: string | null;
    }>
  > {
    const { rows } = await this.db.query<{
      robot_id: string;
      command: CommandType;
      params: Record<string, unknown>;
      batch_id: string | null;
      requested_by: string | null;
      requested_by_id: string | null;
    }>(
      `SELECT DISTINCT ON (robot_id) robot_id, command, params, batch_id, requested_by, requested_by_id
       FROM commands WHERE command IN ('emergency_stop', 'resume') AND batch_id IS NOT NULL
       ORDER BY robot_id, created_at DESC, id DESC`,
    );
    return rows;
  }
}
