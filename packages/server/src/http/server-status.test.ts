import { describe, expect, it, vi } from 'vitest';
import { brokerMetrics } from '../broker/broker.module';
import type { IngestStats } from '../ingest/ingest-pipeline';
import { ingestMetrics } from '../ingest/ingest-status';
import { liveMetrics } from '../live/live.module';
import { robotsMetrics } from '../robots/robots.module';
import { StatusBoard, sharedFor } from './server-status';

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

const REGISTRY = { onlineCount: () => 1, size: 2, pendingCount: 0 };
const LIVE = {
  clientCount: 0,
  counters: { frames_sent: 0, frames_skipped: 0, frames_dropped: 3, clients_dropped: 0 },
};

/** The board with the modules' metrics the server has, the ingest's read through `stats`. */
function boardWith(stats: () => IngestStats) {
  const board = new StatusBoard({ version: '1.2.3', startedAt: 0 });
  board.add('robots', { metrics: robotsMetrics(REGISTRY) });
  board.add('live', { metrics: liveMetrics(LIVE) });
  board.add('ingest', { metrics: ingestMetrics({ stats }) });
  board.add('broker', { metrics: brokerMetrics(undefined) });
  return board;
}

describe('StatusBoard metrics', () => {
  it("serves every module's metrics, reading the ingest figures once per scrape, not once per metric", async () => {
    const stats = vi.fn(() => INGEST);
    const text = await boardWith(stats).metrics().metrics();
    expect(stats).toHaveBeenCalledOnce();
    expect(text).toContain('tonypi_ingest_messages_total{result="accepted"} 7');
    expect(text).toContain('tonypi_ingest_rejected_total{reason="bad_json"} 2');
    expect(text).toContain('tonypi_ingest_fields_dropped_total{reason="bad_url"} 1');
    expect(text).toContain('tonypi_live_frames_dropped_total 3');
    expect(text).toContain('tonypi_ingest_store_lag_p99_ms 40');
    expect(text).toContain('tonypi_mqtt_packets_refused_total 0');
    expect(text).toContain('tonypi_telemetry_store_up 1');
    expect(text).toContain('tonypi_robots_known 2');
  });

  it('reports a failing telemetry store as down, with the points that wait for it', async () => {
    const failing: IngestStats = {
      ...INGEST,
      store_ok: false,
      store_error: 'No space left on device',
      queue_points: 42,
    };
    const text = await boardWith(() => failing)
      .metrics()
      .metrics();
    expect(text).toContain('tonypi_telemetry_store_up 0');
    expect(text).toContain('tonypi_ingest_queue_points 42');
  });

  it('refuses a module that adds its status once the metrics are built (it would be left out)', () => {
    const board = boardWith(() => INGEST);
    board.metrics();
    expect(() => board.add('late', { warnings: () => [] })).toThrow(/late adds its status after/);
  });
});

describe('StatusBoard health', () => {
  it("merges the modules' components, figures and warnings in module order", async () => {
    let clock = 61_000;
    const board = new StatusBoard({ version: '1.2.3', startedAt: 1000, now: () => clock });
    board.add('system', { components: async () => ({ database: { status: 'up', kind: 'pglite' } }) });
    board.add('robots', {
      health: () => ({ robots: { known: 2 } }),
      warnings: () => ['first'],
    });
    board.add('broker', {
      components: () => ({ broker: { status: 'up', kind: 'aedes (embedded)', clients: 3 } }),
      warnings: () => ['second'],
    });
    const health = await board.health();
    expect(health).toMatchObject({
      status: 'ok',
      version: '1.2.3',
      uptime_s: 60,
      components: {
        database: { status: 'up', kind: 'pglite' },
        broker: { status: 'up', kind: 'aedes (embedded)', clients: 3 },
      },
      robots: { known: 2 },
      warnings: ['first', 'second'],
    });
    clock = 121_000;
    expect((await board.health()).uptime_s).toBe(120);
  });

  it('is degraded when any one component is down', async () => {
    const board = new StatusBoard({ version: '1', startedAt: 0 });
    board.add('system', { components: () => ({ database: { status: 'up', kind: 'pglite' } }) });
    board.add('ingest', {
      components: () => ({ telemetry: { status: 'down', kind: 'duckdb', detail: 'disk full' } }),
    });
    expect((await board.health()).status).toBe('degraded');
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
