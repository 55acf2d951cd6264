import { randomUUID } from 'node:crypto';
import type { LiveServerEvents } from '@tonypi/contracts';
import type { EventSubscriber } from '../core/event-bus';
import type { Database } from '../db/database';
import type { Logger } from '../logger';

/** The PostgreSQL channel the instances tell each other their live changes on. */
export const CLUSTER_CHANNEL = 'tonypi_live';
/** NOTIFY takes at most 8,000 bytes: a larger change is sent by reference and read back by the receiver. */
const MAX_INLINE_BYTES = 7_000;

type Relayed =
  | { o: string; k: 'alert'; e: LiveServerEvents['alert'] }
  | { o: string; k: 'alert'; id: number; change: LiveServerEvents['alert']['change'] }
  | { o: string; k: 'command'; e: LiveServerEvents['command'] }
  | { o: string; k: 'command'; id: string }
  | { o: string; k: 'report'; e: LiveServerEvents['report'] };

export interface ClusterRelayOptions {
  db: Database;
  events: EventSubscriber;
  /** Where a change from another instance goes: this instance's browsers. */
  deliver: <K extends 'alert' | 'command' | 'report'>(channel: K, event: LiveServerEvents[K]) => void;
  /** A change too large to send inline, read back from the database. */
  alert: (id: number) => Promise<LiveServerEvents['alert']['alert']>;
  command: (id: string) => Promise<LiveServerEvents['command']>;
  logger: Logger;
}

/**
 * Live changes that only the instance making them sees — an alert raised by its engine or acknowledged through
 * it, a command it sent or timed out, a report it runs — told to the other instances on one PostgreSQL
 * (NOTIFY on `tonypi_live`), which pass them to their own browsers. Robot messages need no relay: every
 * instance observes them from the broker. Changes from elsewhere go to the live hub only, never onto this
 * instance's event bus: its notifier and schedules must not act on them a second time. Best effort, like the
 * live stream itself: a change while the LISTEN connection is being reopened is missed (the pages read again
 * on reconnect).
 */
export class ClusterRelay {
  readonly origin = randomUUID();
  readonly counters = { sent: 0, received: 0, errors: 0 };
  private readonly offs: Array<() => void> = [];
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly opts: ClusterRelayOptions) {}

  async start(): Promise<void> {
    const { db, events } = this.opts;
    if (!db.listen) return;
    this.unlisten = await db.listen(CLUSTER_CHANNEL, (payload) => void this.receive(payload));
    this.offs.push(
      events.subscribe('alert.changed', (e) =>
        this.send(
          { o: this.origin, k: 'alert', e },
          { o: this.origin, k: 'alert', id: e.alert.id, change: e.change },
        ),
      ),
      events.subscribe('command.changed', (e) =>
        this.send({ o: this.origin, k: 'command', e }, { o: this.origin, k: 'command', id: e.command_id }),
      ),
      events.subscribe('report.changed', (e) =>
        this.send({ o: this.origin, k: 'report', e: { ...e, error: e.error?.slice(0, 1000) ?? null } }),
      ),
    );
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    await this.unlisten?.();
    this.unlisten = undefined;
  }

  private send(message: Relayed, byReference?: Relayed): void {
    let text = JSON.stringify(message);
    if (Buffer.byteLength(text) > MAX_INLINE_BYTES) {
      if (!byReference) return;
      text = JSON.stringify(byReference);
    }
    this.counters.sent++;
    this.opts.db.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, text]).catch((err) => {
      this.counters.errors++;
      this.opts.logger.warn({ err }, 'cluster: a live change was not told to the other instances');
    });
  }

  private async receive(payload: string): Promise<void> {
    let m: Relayed;
    try {
      m = JSON.parse(payload) as Relayed;
    } catch {
      this.counters.errors++;
      return;
    }
    if (m.o === this.origin) return;
    this.counters.received++;
    try {
      if (m.k === 'alert') {
        const e = 'e' in m ? m.e : { change: m.change, alert: await this.opts.alert(m.id) };
        this.opts.deliver('alert', e);
      } else if (m.k === 'command') {
        this.opts.deliver('command', 'e' in m ? m.e : await this.opts.command(m.id));
      } else if (m.k === 'report') {
        this.opts.deliver('report', m.e);
      }
    } catch (err) {
      // A change read back that is gone meanwhile (a deleted alert): nothing to show.
      this.counters.errors++;
      this.opts.logger.debug({ err }, 'cluster: a relayed change could not be read back');
    }
  }
}
