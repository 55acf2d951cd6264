import type { ServerEvents } from '@tonypi/contracts';
import type { Logger } from '../logger';

export type EventHandler<T> = (payload: T) => void;

/** What a publisher needs: a domain that only publishes gets no way to subscribe, and the reverse. */
export interface EventPublisher<M extends object = ServerEvents> {
  publish<K extends keyof M & string>(type: K, payload: M[K]): void;
  /** Whether anyone listens: a publisher may skip building an event nobody gets. */
  hasSubscribers(type: keyof M & string): boolean;
}

export interface EventSubscriber<M extends object = ServerEvents> {
  /** Calls `handler` with every later event of `type`; returns the unsubscribe. */
  subscribe<K extends keyof M & string>(type: K, handler: EventHandler<M[K]>): () => void;
}

export interface EventBusOptions {
  logger: Logger;
  /** A subscriber's failures of one event type are logged at most once per this interval (with the count since). */
  errorLogIntervalMs?: number;
  now?: () => number;
}

/**
 * The server's in-process event bus, typed by an event map (`ServerEvents` from contracts). Dispatch is
 * synchronous, in subscription order, on the publisher's stack: `robot.message` comes at the ingest's full
 * rate, so publish is a loop over an array and nothing else. A subscriber that throws is logged (at a
 * bounded rate) and counted; the publisher and the other subscribers carry on as if it had returned.
 */
export class EventBus<M extends object = ServerEvents> implements EventPublisher<M>, EventSubscriber<M> {
  /** Per event type, its handlers; replaced, never mutated, so a dispatch in progress is not disturbed. */
  private readonly handlers = new Map<keyof M, ReadonlyArray<EventHandler<never>>>();
  private readonly failures = new Map<keyof M, { total: number; loggedAt: number; notLogged: number }>();
  private readonly logger: Logger;
  private readonly errorLogIntervalMs: number;
  private readonly now: () => number;

  constructor(opts: EventBusOptions) {
    this.logger = opts.logger;
    this.errorLogIntervalMs = opts.errorLogIntervalMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  subscribe<K extends keyof M & string>(type: K, handler: EventHandler<M[K]>): () => void {
    const entry = handler as EventHandler<never>;
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), entry]);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      // One occurrence: a handler subscribed twice stays subscribed once.
      const current = this.handlers.get(type) ?? [];
      const at = current.indexOf(entry);
      if (at < 0) return;
      const rest = [...current.slice(0, at), ...current.slice(at + 1)];
      if (rest.length > 0) this.handlers.set(type, rest);
      else this.handlers.delete(type);
    };
  }

  publish<K extends keyof M & string>(type: K, payload: M[K]): void {
    const handlers = this.handlers.get(type) as ReadonlyArray<EventHandler<M[K]>> | undefined;
    if (handlers === undefined) return;
    for (let i = 0; i < handlers.length; i++) {
      try {
        handlers[i]!(payload);
      } catch (err) {
        this.failed(type, err);
      }
    }
  }

  hasSubscribers(type: keyof M & string): boolean {
    return this.handlers.has(type);
  }

  /** Subscriber failures since the start, by event type. */
  subscriberErrors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, f] of this.failures) out[String(type)] = f.total;
    return out;
  }

  /** The first failure of a type at once, then one line per interval with how many it did not log. */
  private failed(type: keyof M, err: unknown): void {
    let f = this.failures.get(type);
    if (!f) {
      f = { total: 0, loggedAt: Number.NEGATIVE_INFINITY, notLogged: 0 };
      this.failures.set(type, f);
    }
    f.total++;
    const now = this.now();
    if (now - f.loggedAt < this.errorLogIntervalMs) {
      f.notLogged++;
      return;
    }
    this.logger.error({ event: type, err, suppressed: f.notLogged }, 'event subscriber failed');
    f.loggedAt = now;
    f.notLogged = 0;
  }
}
