import type { Queryable } from '../db/database';

/** One robot's counts for one hour and channel ('' holds the time it was online). */
export interface ActivityRow {
  robot_id: string;
  /** Epoch ms of the hour's start. */
  hour: number;
  channel: string;
  messages: number;
  online_ms: number;
  /** Epoch ms of the last message counted, or null. */
  last_seen: number | null;
}

export interface ActivitySummary {
  online_ms: number;
  messages: Record<string, number>;
  last_seen: Record<string, Date>;
}

export class RobotActivityRepository {
  constructor(private readonly db: Queryable) {}

  /** Adds the rows' counts to what is stored, in one statement. */
  async add(rows: readonly ActivityRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO robot_activity AS a (robot_id, hour, channel, messages, online_ms, last_seen)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[])
       ON CONFLICT (robot_id, hour, channel) DO UPDATE SET
         messages = a.messages + EXCLUDED.messages,
         online_ms = a.online_ms + EXCLUDED.online_ms,
         last_seen = GREATEST(a.last_seen, EXCLUDED.last_seen)`,
      [
        rows.map((r) => r.robot_id),
        rows.map((r) => new Date(r.hour).toISOString()),
        rows.map((r) => r.channel),
        rows.map((r) => r.messages),
        rows.map((r) => Math.round(r.online_ms)),
        rows.map((r) => (r.last_seen === null ? null : new Date(r.last_seen).toISOString())),
      ],
    );
  }

  /** Sums over the hours starting in [fromHour, toMs). */
  async summarize(robot_id: string, fromHour: number, toMs: number): Promise<ActivitySummary> {
    const { rows } = await this.db.query<{
      channel: string;
      messages: string | number;
      online_ms: string | number;
      last_seen: Date | null;
    }>(
      `SELECT channel, sum(messages) AS messages, sum(online_ms) AS online_ms, max(last_seen) AS last_seen
       FROM robot_activity WHERE robot_id = $1 AND hour >= $2 AND hour < $3 GROUP BY channel`,
      [robot_id, new Date(fromHour).toISOString(), new Date(toMs).toISOString()],
    );
    const out: ActivitySummary = { online_ms: 0, messages: {}, last_seen: {} };
    for (const row of rows) {
      if (row.channel === '') {
        out.online_ms += Number(row.online_ms);
        continue;
      }
      out.messages[row.channel] = Number(row.messages);
      if (row.last_seen) out.last_seen[row.channel] = row.last_seen;
    }
    return out;
  }
}
