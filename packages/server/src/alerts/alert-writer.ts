import type { AlertChange } from '@tonypi/contracts';
import type { EventPublisher } from '../core/event-bus';
import type { Queryable } from '../db/database';
import type { Logger } from '../logger';
import type { AlertKey, AlertSink, AlertWrite } from './alert-engine';
import { ALERT_COLUMNS, type AlertRow, alertView } from './alert-rows';

export interface AlertWriterOptions {
  db: Queryable;
  events: EventPublisher;
  logger: Logger;
  /** An update found no open alert (a person resolved or deleted it, maybe on another server). */
  onGone: (key: AlertKey) => void;
  /** Writes waiting beyond this are refused (counted as `dropped`): a database that stalls cannot grow memory. */
  queueLimit?: number;
}

/** The unique index `uq_alerts_unresolved` of migration 0007, as ON CONFLICT names it (expression and predicate). */
const UNRESOLVED_KEY = `((COALESCE(robot_id, '')), dedup_key, (COALESCE(source, ''))) WHERE state <> 'resolved' AND dedup_key IS NOT NULL`;
const MATCH_OPEN = `COALESCE(robot_id, '') = $1 AND dedup_key = $2 AND COALESCE(source, '') = $3 AND state <> 'resolved'`;

/**
 * INSERT, or on the open alert of the same robot + key + source (another server's, or this one's before a
 * restart) an update in place: severity only ever rises while the alert is open (its threshold, and muted,
 * follow an escalation), a count (robot errors, failed jobs) is the larger of both servers'. The sub-select in
 * RETURNING reads the statement's snapshot, i.e. the row before this statement: null when it inserted.
 */
const UPSERT = `INSERT INTO alerts
    (robot_id, alert_type, severity, title, message, source, value, threshold, rule_id, state, muted, dedup_key,
     details, created_at, updated_at, acknowledged, resolved)
  SELECT r.robot_id, r.alert_type, r.severity, r.title, r.message, r.source, r.value, r.threshold, r.rule_id,
    'open', r.muted, r.dedup_key, r.details, r.created_at, CURRENT_TIMESTAMP, FALSE, FALSE
  FROM jsonb_to_recordset($1::jsonb) AS r(robot_id text, alert_type text, severity text, title text, message text,
    source text, value double precision, threshold double precision, rule_id integer, muted boolean,
    dedup_key text, details jsonb, created_at timestamptz)
  ON CONFLICT ${UNRESOLVED_KEY} DO UPDATE SET
    severity = CASE WHEN EXCLUDED.severity = 'critical' THEN 'critical' ELSE alerts.severity END,
    threshold = CASE WHEN EXCLUDED.severity = 'critical' AND alerts.severity <> 'critical'
      THEN EXCLUDED.threshold ELSE alerts.threshold END,
    muted = CASE WHEN EXCLUDED.severity = 'critical' AND alerts.severity <> 'critical'
      THEN EXCLUDED.muted ELSE alerts.muted END,
    title = EXCLUDED.title,
    message = EXCLUDED.message,
    value = EXCLUDED.value,
    rule_id = EXCLUDED.rule_id,
    details = CASE WHEN EXCLUDED.details ? 'count'
      THEN EXCLUDED.details || jsonb_build_object('count',
        GREATEST(COALESCE((alerts.details->>'count')::int, 0), (EXCLUDED.details->>'count')::int))
      ELSE EXCLUDED.details END,
    updated_at = CURRENT_TIMESTAMP
  RETURNING ${ALERT_COLUMNS}, (SELECT p.severity FROM alerts p WHERE p.id = alerts.id) AS previous_severity`;

const UPDATE = `UPDATE alerts SET value = $4, message = $5, details = $6::jsonb, updated_at = CURRENT_TIMESTAMP
  WHERE ${MATCH_OPEN} RETURNING ${ALERT_COLUMNS}`;

/** Several open alerts resolved in one statement: their keys and reasons as a JSON array. */
const RESOLVE = `UPDATE alerts a SET state = 'resolved', resolved = TRUE, resolved_at = CURRENT_TIMESTAMP,
    resolved_by = NULL, updated_at = CURRENT_TIMESTAMP,
    details = COALESCE(a.details, '{}'::jsonb) || jsonb_build_object('resolved_reason', r.reason)
  FROM jsonb_to_recordset($1::jsonb) AS r(robot_id text, dedup_key text, source text, reason text)
  WHERE COALESCE(a.robot_id, '') = r.robot_id AND a.dedup_key = r.dedup_key
    AND COALESCE(a.source, '') = r.source AND a.state <> 'resolved'
  RETURNING ${ALERT_COLUMNS.split(', ')
    .map((c) => `a.${c}`)
    .join(', ')}`;

/** Most writes of one statement. */
const MAX_BATCH = 500;

const keyOf = (k: AlertKey) => `${k.robot_id}\u0000${k.dedup_key}\u0000${k.source ?? ''}`;

/**
 * The engine's database writes, one at a time in order, off the evaluation path; after each, `alert.changed`.
 * Value updates of one alert still waiting are merged (the latest wins).
 */
export class AlertWriter implements AlertSink {
  private readonly queue: AlertWrite[] = [];
  private readonly waitingUpdates = new Map<string, Extract<AlertWrite, { kind: 'update' }>>();
  private draining: Promise<void> | null = null;
  private readonly queueLimit: number;
  readonly counters = { written: 0, dropped: 0, write_errors: 0 };

  constructor(private readonly opts: AlertWriterOptions) {
    this.queueLimit = opts.queueLimit ?? 10_000;
  }

  write(op: AlertWrite): void {
    if (op.kind === 'update') {
      const waiting = this.waitingUpdates.get(keyOf(op.key));
      if (waiting) {
        waiting.value = op.value;
        waiting.message = op.message;
        waiting.details = op.details;
        return;
      }
    }
    if (this.queue.length >= this.queueLimit) {
      this.counters.dropped++;
      return;
    }
    this.queue.push(op);
    if (op.kind === 'update') this.waitingUpdates.set(keyOf(op.key), op);
    this.draining ??= this.drain();
  }

  /** Drops the writes still waiting for an alert (a person resolved or deleted it). */
  discard(key: AlertKey): void {
    const k = keyOf(key);
    this.waitingUpdates.delete(k);
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (keyOf(this.queue[i]!.key) === k) this.queue.splice(i, 1);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Resolves once every write queued so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Runs of raises (or of resolutions) of different alerts go in one statement: a fleet's emergency stop
   * raises a hundred alerts at once, and a hundred statements in a row, each awaited after the other, held
   * the event loop (PGlite runs on it) for a quarter of a second. Order is kept: a run ends at another kind
   * of write or at a second write of the same alert.
   */
  private async drain(): Promise<void> {
    try {
      // Writes queued in the same turn of the event loop (one status event per robot of a fleet) go together.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const run = this.takeRun();
        try {
          await this.apply(run);
          this.counters.written += run.length;
        } catch (err) {
          this.counters.write_errors += run.length;
          this.opts.logger.error(
            { err, op: run[0]!.kind, key: run[0]!.key, writes: run.length },
            'alert engine: write failed',
          );
        }
      }
    } finally {
      this.draining = null;
    }
  }

  private takeRun(): AlertWrite[] {
    const first = this.queue.shift()!;
    if (first.kind === 'update') {
      this.waitingUpdates.delete(keyOf(first.key));
      return [first];
    }
    const run: AlertWrite[] = [first];
    const keys = new Set([keyOf(first.key)]);
    while (run.length < MAX_BATCH) {
      const next = this.queue[0];
      if (!next || next.kind !== first.kind || keys.has(keyOf(next.key))) break;
      keys.add(keyOf(next.key));
      run.push(this.queue.shift()!);
    }
    return run;
  }

  private async apply(run: AlertWrite[]): Promise<void> {
    const op = run[0]!;
    if (op.kind === 'upsert') {
      const ups = run as Array<Extract<AlertWrite, { kind: 'upsert' }>>;
      const { rows } = await this.opts.db.query<AlertRow & { previous_severity: string | null }>(UPSERT, [
        JSON.stringify(
          ups.map(({ key, alert: a }) => ({
            robot_id: key.robot_id,
            alert_type: a.alert_type,
            severity: a.severity,
            title: a.title.slice(0, 200),
            message: a.message,
            source: key.source,
            value: a.value,
            threshold: a.threshold,
            rule_id: a.rule_id,
            muted: a.muted,
            dedup_key: key.dedup_key,
            details: a.details,
            created_at: new Date(a.at).toISOString(),
          })),
        ),
      ]);
      for (const row of rows) {
        const previous = row.previous_severity;
        const change: AlertChange =
          previous === null
            ? 'raised'
            : previous !== 'critical' && row.severity === 'critical'
              ? 'escalated'
              : 'updated';
        this.publish(change, row);
      }
      return;
    }
    if (op.kind === 'update') {
      const { robot_id, dedup_key, source } = op.key;
      const { rows } = await this.opts.db.query<AlertRow>(UPDATE, [
        robot_id,
        dedup_key,
        source ?? '',
        op.value,
        op.message,
        JSON.stringify(op.details),
      ]);
      if (rows[0]) this.publish('updated', rows[0]);
      else this.opts.onGone(op.key);
      return;
    }
    const resolves = run as Array<Extract<AlertWrite, { kind: 'resolve' }>>;
    const { rows } = await this.opts.db.query<AlertRow>(RESOLVE, [
      JSON.stringify(
        resolves.map(({ key, reason }) => ({
          robot_id: key.robot_id,
          dedup_key: key.dedup_key,
          source: key.source ?? '',
          reason,
        })),
      ),
    ]);
    // An alert not among them had nothing open: another server resolved it first, or a person did.
    for (const row of rows) this.publish('resolved', row);
  }

  private publish(change: AlertChange, row: AlertRow): void {
    if (!this.opts.events.hasSubscribers('alert.changed')) return;
    this.opts.events.publish('alert.changed', { change, alert: alertView(row) });
  }
}
