import type {
  ReportDocument,
  ReportKind,
  ReportSectionKey,
  ReportStatus,
  ReportView,
} from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export interface ReportRow {
  id: number;
  title: string;
  robot_id: string | null;
  tag: string | null;
  report_type: ReportKind;
  from_at: Date;
  to_at: Date;
  sections: ReportSectionKey[];
  want_ai: boolean;
  status: ReportStatus;
  progress: number;
  error: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  ai_model: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  schedule_id: number | null;
}

const COLUMNS = `id, title, robot_id, tag, report_type, from_at, to_at, sections, want_ai, status, progress, error,
  created_by, created_at, started_at, finished_at, ai_model, tokens_in, tokens_out, schedule_id`;

export function toReportView(r: ReportRow): ReportView {
  return {
    id: r.id,
    kind: r.report_type,
    title: r.title,
    robot_id: r.robot_id,
    tag: r.tag,
    from: r.from_at.toISOString(),
    to: r.to_at.toISOString(),
    sections: r.sections,
    want_ai: r.want_ai,
    status: r.status,
    progress: Math.round(r.progress * 1000) / 1000,
    error: r.error,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
    started_at: r.started_at?.toISOString() ?? null,
    finished_at: r.finished_at?.toISOString() ?? null,
    ai_model: r.ai_model,
    tokens_in: r.tokens_in,
    tokens_out: r.tokens_out,
    schedule_id: r.schedule_id,
  };
}

export interface ReportFilter {
  kind?: ReportKind | undefined;
  status?: ReportStatus | undefined;
  robot_id?: string | undefined;
  schedule_id?: number | undefined;
  limit: number;
  offset: number;
}

/** SQL of `reports` (the seed's table, grown by 0016): one row per report, its document in `data`. */
export class ReportsRepository {
  constructor(private readonly db: Queryable) {}

  async insert(r: {
    title: string;
    kind: ReportKind;
    robot_id: string | null;
    tag: string | null;
    from: number;
    to: number;
    sections: readonly ReportSectionKey[];
    want_ai: boolean;
    created_by: string | null;
    schedule_id?: number | null;
  }): Promise<ReportRow> {
    return (await ReportsRepository.insertInto(this.db, r)) as ReportRow;
  }

  /**
   * Inserts a queued report through `db` (a transaction, for a schedule's run); a schedule's second report of one
   * period is not inserted (the unique index): undefined then.
   */
  static async insertInto(
    db: Queryable,
    r: {
      title: string;
      kind: ReportKind;
      robot_id: string | null;
      tag: string | null;
      from: number;
      to: number;
      sections: readonly ReportSectionKey[];
      want_ai: boolean;
      created_by: string | null;
      schedule_id?: number | null;
    },
  ): Promise<ReportRow | undefined> {
    const { rows } = await db.query<ReportRow>(
      `INSERT INTO reports (title, report_type, robot_id, tag, from_at, to_at, sections, want_ai, created_by, status,
         progress, schedule_id)
       VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), to_timestamp($6 / 1000.0), $7, $8, $9, 'queued', 0, $10)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        r.title,
        r.kind,
        r.robot_id,
        r.tag,
        r.from,
        r.to,
        JSON.stringify(r.sections),
        r.want_ai,
        r.created_by,
        r.schedule_id ?? null,
      ],
    );
    return rows[0];
  }

  async get(id: number): Promise<ReportRow | undefined> {
    const { rows } = await this.db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE id = $1`, [id]);
    return rows[0];
  }

  async document(id: number): Promise<ReportDocument | null> {
    const { rows } = await this.db.query<{ data: ReportDocument | null }>(
      'SELECT data FROM reports WHERE id = $1',
      [id],
    );
    return rows[0]?.data ?? null;
  }

  async list(f: ReportFilter): Promise<{ rows: ReportRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.kind) {
      params.push(f.kind);
      where.push(`report_type = $${params.length}`);
    }
    if (f.status) {
      params.push(f.status);
      where.push(`status = $${params.length}`);
    }
    if (f.robot_id) {
      params.push(f.robot_id);
      where.push(`robot_id = $${params.length}`);
    }
    if (f.schedule_id !== undefined) {
      params.push(f.schedule_id);
      where.push(`schedule_id = $${params.length}`);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ rows }, count] = await Promise.all([
      this.db.query<ReportRow>(
        `SELECT ${COLUMNS} FROM reports ${clause} ORDER BY created_at DESC, id DESC
         LIMIT ${Math.trunc(f.limit)} OFFSET ${Math.trunc(f.offset)}`,
        params,
      ),
      this.db.query<{ n: string }>(`SELECT count(*) AS n FROM reports ${clause}`, params),
    ]);
    return { rows, total: Number(count.rows[0]?.n ?? 0) };
  }

  /**
   * Takes the oldest queued report for this instance: `running`, started now. Two instances never take the
   * same one (the row lock; the second skips it).
   */
  async claimNext(instance: string): Promise<ReportRow | undefined> {
    const { rows } = await this.db.query<ReportRow>(
      `UPDATE reports SET status = 'running', started_at = CURRENT_TIMESTAMP, progress = 0, claimed_by = $1
       WHERE id = (SELECT id FROM reports WHERE status = 'queued' ORDER BY created_at, id LIMIT 1
                   FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [instance],
    );
    return rows[0];
  }

  /** A running report's progress; false when it is no longer running (cancelled meanwhile). */
  async progress(id: number, progress: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE reports SET progress = $2 WHERE id = $1 AND status = 'running' RETURNING id`,
      [id, progress],
    );
    return rows.length > 0;
  }

  async complete(
    id: number,
    doc: ReportDocument,
    ai: { model: string; tokens_in: number | null; tokens_out: number | null } | null,
  ): Promise<ReportRow | undefined> {
    const { rows } = await this.db.query<ReportRow>(
      `UPDATE reports SET status = 'completed', progress = 1, finished_at = CURRENT_TIMESTAMP, data = $2,
         ai_model = $3, tokens_in = $4, tokens_out = $5, error = NULL
       WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
      [id, JSON.stringify(doc), ai?.model ?? null, ai?.tokens_in ?? null, ai?.tokens_out ?? null],
    );
    return rows[0];
  }

  async fail(id: number, error: string): Promise<ReportRow | undefined> {
    const { rows } = await this.db.query<ReportRow>(
      `UPDATE reports SET status = 'failed', finished_at = CURRENT_TIMESTAMP, error = $2
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${COLUMNS}`,
      [id, error.slice(0, 2000)],
    );
    return rows[0];
  }

  /** Cancels a queued or running report; undefined when it had finished already (or does not exist). */
  async cancel(id: number): Promise<ReportRow | undefined> {
    const { rows } = await this.db.query<ReportRow>(
      `UPDATE reports SET status = 'cancelled', finished_at = CURRENT_TIMESTAMP
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0];
  }

  async remove(id: number): Promise<boolean> {
    const { rows } = await this.db.query('DELETE FROM reports WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  /**
   * Reports this instance was running when it stopped (or crashed): back to the queue, to be run again. With
   * several instances only its own are taken back.
   */
  async requeueOwn(instance: string): Promise<number> {
    const { rows } = await this.db.query(
      `UPDATE reports SET status = 'queued', progress = 0, started_at = NULL
       WHERE status = 'running' AND claimed_by = $1 RETURNING id`,
      [instance],
    );
    return rows.length;
  }
}
