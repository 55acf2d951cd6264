import { describe, expect, it, vi } from 'vitest';
import type { IngestPipeline, IngestStats } from '../ingest/ingest-pipeline';
import { type StatusSources, serverMetrics, sharedFor } from './server-status';

const INGEST: IngestStats = {
  messages_accepted: 7,
  messages_rejected: 2,
  rejected: { bad_json: 2 },
  fields_dropped: { bad_url: 1 },
  ignored_outbound: 0,
  clock_skew_corrected: 0,
  points_received: 9,
  points_stored: 9,
  points_shed: 0,
  queue_points: 0,
  queue_limit: 1000,
  store_errors: 0,
  store_ok: true,
  store_error: null,
  flushes: 1,
  last_flush_ms: 3,
  store_lag_ms: { p50: 12, p99: 40 },
};

describe('serverMetrics', () => {
  it('reads the ingest figures once per scrape, not once per metric', async () => {
    const stats = vi.fn(() => INGEST);
    const src = {
      pipeline: { stats } as unknown as IngestPipeline,
      registry: { onlineCount: () => 1, size: 2, pendingCount: 0 },
      live: { clientCount: 0, counters: { frames_sent: 0, frames_skipped: 0, frames_dropped: 3 } },
    } as unknown as StatusSources;
    const metrics = serverMetrics(src);

    const text = await metrics.metrics();
    expect(stats).toHaveBeenCalledOnce();
    expect(text).toContain('tonypi_ingest_messages_total{result="accepted"} 7');
    expect(text).toContain('tonypi_ingest_rejected_total{reason="bad_json"} 2');
    expect(text).toContain('tonypi_ingest_fields_dropped_total{reason="bad_url"} 1');
    expect(text).toContain('tonypi_live_frames_dropped_total 3');
    expect(text).toContain('tonypi_ingest_store_lag_p99_ms 40');
    expect(text).toContain('tonypi_mqtt_packets_refused_total 0');
    expect(text).toContain('tonypi_telemetry_store_up 1');
  });

  it('reports a failing telemetry store as down, with the points that wait for it', async () => {
    const failing: IngestStats = {
      ...INGEST,
      store_ok: false,
      store_error: 'No space left on device',
      queue_points: 42,
    };
    const src = {
      pipeline: { stats: () => failing } as unknown as IngestPipeline,
      registry: { onlineCount: () => 1, size: 2, pendingCount: 0 },
      live: { clientCount: 0, counters: { frames_sent: 0, frames_skipped: 0, frames_dropped: 0 } },
    } as unknown as StatusSources;
    const text = await serverMetrics(src).metrics();
    expect(text).toContain('tonypi_telemetry_store_up 0');
    expect(text).toContain('tonypi_ingest_queue_points 42');
  });
});

describe('sharedFor', () => {
  it('reads again only once the value is older than the interval', () => {
    let clock = 0;
    let reads = 0;
    const value = sharedFor(
      500,
      () => ++reads,
      () => clock,
    );
    expect([value(), value()]).toEqual([1, 1]);
    clock = 499;
    expect(value()).toBe(1);
    clock = 500;
    expect([value(), value()]).toEqual([2, 2]);
  });
});
