import type {
  AlertChange,
  AlertSeverity,
  NotificationChannelKind,
  NotificationDeliveryStatus,
} from '@tonypi/contracts';
import type { Queryable } from '../db/database';

/** A channel as stored: `settings` may be shown, `secrets` is sealed (SecretBox) or null. */
export interface ChannelRow {
  id: number;
  name: string;
  kind: NotificationChannelKind;
  enabled: boolean;
  severities: AlertSeverity[];
  changes: AlertChange[];
  settings: Record<string, unknown>;
  secrets: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryRow {
  id: number;
  channel_id: number;
  delivery_key: string;
  alert_id: number | null;
  change: string;
  status: NotificationDeliveryStatus;
  attempts: number;
  response_code: number | null;
  response: string | null;
  error: string | null;
  duration_ms: number | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What an attempt (or a skip) leaves in the log. */
export interface DeliveryState {
  status: NotificationDeliveryStatus;
  attempts: number;
  response_code: number | null;
  response: string | null;
  error: string | null;
  duration_ms: number | null;
  next_attempt_at: Date | null;
}

const CHANNEL_COLUMNS =
  'id, name, kind, enabled, severities, changes, settings, secrets, created_by, created_at, updated_at';
const DELIVERY_COLUMNS =
  'id, channel_id, delivery_key, alert_id, change, status, attempts, response_code, response, error, ' +
  'duration_ms, next_attempt_at, created_at, updated_at';

/** Deliveries kept per channel: older rows are pruned as new ones come. */
export const DELIVERIES_KEPT_PER_CHANNEL = 1000;

export class NotificationsRepository {
  constructor(private readonly db: Queryable) {}

  async listChannels(): Promise<ChannelRow[]> {
    const { rows } = await this.db.query<ChannelRow>(
      `SELECT ${CHANNEL_COLUMNS} FROM notification_channels ORDER BY id`,
    );
    return rows;
  }

  async findChannel(id: number, tx: Queryable = this.db): Promise<ChannelRow | undefined> {
    const { rows } = await tx.query<ChannelRow>(
      `SELECT ${CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async insertChannel(
    c: Pick<
      ChannelRow,
      'name' | 'kind' | 'enabled' | 'severities' | 'changes' | 'settings' | 'secrets' | 'created_by'
    >,
    tx: Queryable = this.db,
  ): Promise<ChannelRow> {
    const { rows } = await tx.query<ChannelRow>(
      `INSERT INTO notification_channels (name, kind, enabled, severities, changes, settings, secrets, created_by)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8) RETURNING ${CHANNEL_COLUMNS}`,
      [
        c.name,
        c.kind,
        c.enabled,
        JSON.stringify(c.severities),
        JSON.stringify(c.changes),
        JSON.stringify(c.settings),
        c.secrets,
        c.created_by,
      ],
    );
    const row = rows[0];
    if (!row) throw new Error('INSERT INTO notification_channels returned no row');
    return row;
  }

  async updateChannel(
    id: number,
    c: Pick<ChannelRow, 'name' | 'enabled' | 'severities' | 'changes' | 'settings' | 'secrets'>,
    tx: Queryable = this.db,
  ): Promise<ChannelRow | undefined> {
    const { rows } = await tx.query<ChannelRow>(
      `UPDATE notification_channels
          SET name = $2, enabled = $3, severities = $4::jsonb, changes = $5::jsonb, settings = $6::jsonb,
              secrets = $7, updated_at = CURRENT_TIMESTAMP
        WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}`,
      [
        id,
        c.name,
        c.enabled,
        JSON.stringify(c.severities),
        JSON.stringify(c.changes),
        JSON.stringify(c.settings),
        c.secrets,
      ],
    );
    return rows[0];
  }

  /** Deletes the channel and its delivery log; false when there was none. */
  async deleteChannel(id: number, tx: Queryable = this.db): Promise<boolean> {
    const { rows } = await tx.query<{ id: number }>(
      'DELETE FROM notification_channels WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }

  async insertDelivery(
    d: { channel_id: number; delivery_key: string; alert_id: number | null; change: string } & DeliveryState,
  ): Promise<DeliveryRow> {
    const { rows } = await this.db.query<DeliveryRow>(
      `INSERT INTO notification_deliveries
         (channel_id, delivery_key, alert_id, change, status, attempts, response_code, response, error,
          duration_ms, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${DELIVERY_COLUMNS}`,
      [
        d.channel_id,
        d.delivery_key,
        d.alert_id,
        d.change,
        d.status,
        d.attempts,
        d.response_code,
        d.response,
        d.error,
        d.duration_ms,
        d.next_attempt_at,
      ],
    );
    const row = rows[0];
    if (!row) throw new Error('INSERT INTO notification_deliveries returned no row');
    return row;
  }

  async updateDelivery(id: number, d: DeliveryState): Promise<void> {
    await this.db.query(
      `UPDATE notification_deliveries
          SET status = $2, attempts = $3, response_code = $4, response = $5, error = $6, duration_ms = $7,
              next_attempt_at = $8, updated_at = CURRENT_TIMESTAMP
        WHERE id = $1`,
      [id, d.status, d.attempts, d.response_code, d.response, d.error, d.duration_ms, d.next_attempt_at],
    );
  }

  /** Deliveries left waiting for a retry when this server stopped: failed, with the reason. */
  async failWaiting(ids: readonly number[], error: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE notification_deliveries
          SET status = 'failed', error = $2, next_attempt_at = NULL, updated_at = CURRENT_TIMESTAMP
        WHERE id = ANY($1::bigint[]) AND status = 'retrying'`,
      [`{${ids.join(',')}}`, error],
    );
  }

  /** Newest first, `before` an id (the cursor). */
  async listDeliveries(
    channelId: number,
    opts: { limit: number; before?: number; status?: NotificationDeliveryStatus },
  ): Promise<DeliveryRow[]> {
    const params: unknown[] = [channelId, opts.limit];
    let where = 'channel_id = $1';
    if (opts.before !== undefined) {
      params.push(opts.before);
      where += ` AND id < $${params.length}`;
    }
    if (opts.status !== undefined) {
      params.push(opts.status);
      where += ` AND status = $${params.length}`;
    }
    const { rows } = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries WHERE ${where} ORDER BY id DESC LIMIT $2`,
      params,
    );
    return rows;
  }

  /** Keeps the channel's newest `keep` deliveries. */
  async pruneDeliveries(channelId: number, keep = DELIVERIES_KEPT_PER_CHANNEL): Promise<void> {
    await this.db.query(
      `DELETE FROM notification_deliveries
        WHERE channel_id = $1 AND id <= (SELECT id FROM notification_deliveries WHERE channel_id = $1
                                          ORDER BY id DESC OFFSET $2 LIMIT 1)`,
      [channelId, keep],
    );
  }
}
