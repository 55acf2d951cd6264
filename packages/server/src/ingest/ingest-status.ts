import type { Sampled } from '../http/metrics';
import { sharedFor } from '../http/server-status';
import type { IngestStats } from './ingest-pipeline';

/** The ingest's Prometheus metrics: one `stats()` per scrape, shared by every collector. */
export function ingestMetrics(pipeline: { stats(): IngestStats }): Sampled[] {
  const ingest = sharedFor(500, () => pipeline.stats());
  return [
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
  ];
}
