import path from 'node:path';
import type { Config } from '../config';
import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { type Logger, redactUrl } from '../logger';
import { StartupError } from '../startup-error';
import { DuckDbTelemetryStore } from './duckdb-telemetry-store';
import { InfluxTelemetryStore, influxOptionsFromUrl } from './influx-telemetry-store';
import type { TelemetryStore } from './telemetry-store';

declare module '../core/module' {
  interface Services {
    /** Where telemetry points are written and read (the one TELEMETRY_URL names). */
    telemetryStore: TelemetryStore;
    /** A store to use instead of the one the config names (startServer's option: tests inject faults). */
    telemetryStoreOverride: TelemetryStore;
  }
}

/** Opens the telemetry store first of the domains: the ingest writes to it, the queries read it. */
export const telemetryStoreModule = defineModule({
  name: 'telemetry-store',
  async create(ctx) {
    const store = ctx.find('telemetryStoreOverride') ?? openTelemetryStore(ctx.config, ctx.logger);
    await store.init();
    return {
      provides: { telemetryStore: store },
      stop: () => store.close(),
      ...(store instanceof InfluxTelemetryStore ? { status: { metrics: influxMetrics(store) } } : {}),
    };
  },
});

/** The store TELEMETRY_URL names: unset, the embedded DuckDB file in the data dir; influx(s)://, InfluxDB. */
export function openTelemetryStore(config: Readonly<Config>, logger: Logger): TelemetryStore {
  const url = config.telemetryUrl;
  const readers = {
    readers: config.query.readers,
    maxWaitingReads: config.query.queueLimit,
    rangeTailMaxAgeMs: config.query.rangeTailMaxAgeMs,
  };
  if (!url) {
    return new DuckDbTelemetryStore({
      path: path.join(config.dataDir, 'telemetry.duckdb'),
      logger,
      ...readers,
    });
  }
  const parsed = new URL(url);
  if (parsed.protocol === 'duckdb:') {
    return new DuckDbTelemetryStore({
      path: decodeURIComponent(parsed.host + parsed.pathname) || ':memory:',
      logger,
      ...readers,
    });
  }
  if (parsed.protocol === 'influx:' || parsed.protocol === 'influxs:') {
    return new InfluxTelemetryStore({ ...influxOptionsFromUrl(url), logger });
  }
  throw new StartupError(
    `TELEMETRY_URL ${redactUrl(url)}: use duckdb://<file>, influx://user:password@host:8086/?db=fleet or influxs://…`,
  );
}

/** The InfluxDB writer's figures (each read when scraped): how often it retried and what InfluxDB refused. */
function influxMetrics(store: InfluxTelemetryStore): Sampled[] {
  const counter = (name: string, help: string, read: () => number): Sampled => ({
    name: `tonypi_influx_${name}`,
    help,
    type: 'counter',
    read,
  });
  return [
    counter('write_requests_total', 'Write requests sent to InfluxDB', () => store.writerStats().requests),
    counter(
      'write_retries_total',
      'Writes tried again after a 5xx, a time-out or no connection',
      () => store.writerStats().retries,
    ),
    counter(
      'lines_written_total',
      'Lines InfluxDB took (raw points, roll-ups, watermarks)',
      () => store.writerStats().lines_written,
    ),
    counter(
      'lines_rejected_total',
      'Lines InfluxDB refused in partial writes (type conflicts, limits)',
      () => store.writerStats().lines_rejected,
    ),
  ];
}
