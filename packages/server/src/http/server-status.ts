import { PROTOCOL_VERSION } from '@tonypi/contracts';
import type { Registry } from 'prom-client';
import type { EmbeddedBroker } from '../broker/embedded-broker';
import type { MessageBus } from '../broker/message-bus';
import type { Database } from '../db/database';
import type { IngestPipeline } from '../ingest/ingest-pipeline';
import type { LiveHub } from '../live/live-hub';
import { redactUrl } from '../logger';
import type { RobotRegistry } from '../robots/robot-registry';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import type { Health } from './health.routes';
import { createMetrics } from './metrics';

/** The running parts whose state `/api/v1/health` and `/metrics` report. */
export interface StatusSources {
  db: Database;
  bus: MessageBus;
  /** The embedded broker, when there is one. */
  broker?: EmbeddedBroker;
  pipeline: IngestPipeline;
  registry: RobotRegistry;
  live: LiveHub;
  store: TelemetryStore;
  mqttUrl: string;
  startedAt: number;
  version: string;
  warnings: readonly string[];
  /** Which robots have MQTT credentials: the others are anonymous (shown in health). */
  robotAccess?: { hasCredentials(robot_id: string): boolean };
}

/** How many known robots have no credentials, and the first 100 of them (health). */
function anonymousRobots(src: StatusSources): { anonymous: number; anonymous_ids: string[] } {
  const ids: string[] = [];
  let anonymous = 0;
  for (const robot of src.registry.all()) {
    if (src.robotAccess?.hasCredentials(robot.robot_id)) continue;
    anonymous++;
    if (ids.length < 100) ids.push(robot.robot_id);
  }
  return { anonymous, anonymous_ids: ids.sort() };
}

/** Each component's state and the ingest counters; `degraded` when one is down. */
export function healthReport(src: StatusSources): () => Promise<Health> {
  const { db, bus, broker, pipeline, registry, live, store, mqttUrl } = src;
  return async () => {
    const dbUp = await db.ping().then(
      () => true,
      () => false,
    );
    const brokerUp = bus.isConnected();
    const ingest = pipeline.stats();
    return {
      status: dbUp && brokerUp && ingest.store_ok ? 'ok' : 'degraded',
      version: src.version,
      protocol_version: PROTOCOL_VERSION,
      uptime_s: Math.round((Date.now() - src.startedAt) / 1000),
      components: {
        database: { status: dbUp ? 'up' : 'down', kind: db.kind },
        telemetry: {
          status: ingest.store_ok ? 'up' : 'down',
          kind: store.kind,
          ...(ingest.store_error ? { detail: ingest.store_error } : {}),
        },
        broker: {
          status: brokerUp ? 'up' : 'down',
          kind: bus.kind === 'embedded' ? 'aedes (embedded)' : redactUrl(mqttUrl),
          clients: broker?.connectedClients,
          retained_messages: broker?.retainedMessages,
          refused: broker?.limitRefusals(),
        },
      },
      robots: {
        known: registry.size,
        online: registry.onlineCount(),
        pending: registry.pendingCount,
        ...anonymousRobots(src),
        write_errors: registry.counters.flush_errors,
      },
      live: {
        clients: live.clientCount,
        frames_sent: live.counters.frames_sent,
        frames_skipped: live.counters.frames_skipped,
        frames_dropped: live.counters.frames_dropped,
      },
      ingest,
      warnings: [...src.warnings],
    };
  };
}

/**
 * `read()`'s value, read again only when it is older than `maxAgeMs`. The collectors of one scrape run within
 * a few milliseconds of each other: this lets them share one `pipeline.stats()` (which copies the counters
 * and the rejection counts) instead of making one each.
 */
export function sharedFor<T>(maxAgeMs: number, read: () => T, now: () => number = () => performance.now()) {
  let value: T | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  return (): T => {
    const t = now();
    if (value === undefined || t - readAt >= maxAgeMs) {
      value = read();
      readAt = t;
    }
    return value;
  };
}

/** Prometheus metrics, read from the components' own counters when scraped (nothing on the hot path). */
export function serverMetrics(src: StatusSources): Registry {
  const { registry, live, broker } = src;
  const ingest = sharedFor(500, () => src.pipeline.stats());
  return createMetrics([
    {
      name: 'tonypi_ingest_messages_total',
      help: 'MQTT messages by outcome',
      type: 'counter',
      labelNames: ['result'],
      read: () => {
        const s = ingest();
        return [
          { labels: { result: 'accepted' }, value: s.messages_accepted },
          { labels: { result: 'rejected' }, value: s.messages_rejected },
          { labels: { result: 'ignored' }, value: s.ignored_outbound },
        ];
      },
    },
    {
      name: 'tonypi_ingest_rejected_total',
      help: 'Rejected MQTT messages by reason',
      type: 'counter',
      labelNames: ['reason'],
      read: () => Object.entries(ingest().rejected).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'tonypi_ingest_fields_dropped_total',
      help: 'Fields left out of accepted MQTT messages by reason',
      type: 'counter',
      labelNames: ['reason'],
      read: () =>
        Object.entries(ingest().fields_dropped).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'tonypi_ingest_points_stored_total',
      help: 'Telemetry points written',
      type: 'counter',
      read: () => ingest().points_stored,
    },
    {
      name: 'tonypi_ingest_points_shed_total',
      help: 'Telemetry points dropped under overload',
      type: 'counter',
      read: () => ingest().points_shed,
    },
    {
      name: 'tonypi_ingest_queue_points',
      help: 'Points waiting for the store, the batch being written included',
      type: 'gauge',
      read: () => ingest().queue_points,
    },
    {
      name: 'tonypi_telemetry_store_up',
      help: 'Whether the telemetry store takes writes (0 while it fails, e.g. on a full disk)',
      type: 'gauge',
      read: () => (ingest().store_ok ? 1 : 0),
    },
    {
      name: 'tonypi_ingest_store_lag_p99_ms',
      help: 'Receive → stored, 99th percentile (ms)',
      type: 'gauge',
      read: () => ingest().store_lag_ms.p99 ?? 0,
    },
    {
      name: 'tonypi_robots_online',
      help: 'Robots online',
      type: 'gauge',
      read: () => registry.onlineCount(),
    },
    { name: 'tonypi_robots_known', help: 'Robots known', type: 'gauge', read: () => registry.size },
    {
      name: 'tonypi_live_clients',
      help: 'Live stream connections',
      type: 'gauge',
      read: () => live.clientCount,
    },
    {
      name: 'tonypi_live_frames_sent_total',
      help: 'Live frames sent',
      type: 'counter',
      read: () => live.counters.frames_sent,
    },
    {
      name: 'tonypi_live_frames_skipped_total',
      help: 'Live frames skipped for slow clients',
      type: 'counter',
      read: () => live.counters.frames_skipped,
    },
    {
      name: 'tonypi_live_frames_dropped_total',
      help: 'Live frames dropped because they could not be serialised',
      type: 'counter',
      read: () => live.counters.frames_dropped,
    },
    {
      name: 'tonypi_mqtt_clients',
      help: 'Connected MQTT clients (embedded broker)',
      type: 'gauge',
      read: () => broker?.connectedClients ?? 0,
    },
    {
      name: 'tonypi_mqtt_limit_refusals_total',
      help: 'What the embedded broker limits refused (connections per address, retained messages, malformed strings), by reason',
      type: 'counter',
      labelNames: ['reason'],
      read: () =>
        Object.entries(broker?.limitRefusals() ?? {}).map(([reason, value]) => ({
          labels: { reason },
          value,
        })),
    },
    {
      name: 'tonypi_mqtt_retained_messages',
      help: 'Retained messages clients hold in the embedded broker',
      type: 'gauge',
      read: () => broker?.retainedMessages ?? 0,
    },
    {
      name: 'tonypi_robots_pending',
      help: 'Robots registered on first contact, not yet confirmed',
      type: 'gauge',
      read: () => registry.pendingCount,
    },
    {
      name: 'tonypi_mqtt_packets_refused_total',
      help: 'MQTT connections closed for a packet over the size limit (embedded broker)',
      type: 'counter',
      read: () => broker?.packetsRefused ?? 0,
    },
  ]);
}
