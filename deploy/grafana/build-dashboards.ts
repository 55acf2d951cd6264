/**
 * The Grafana dashboards, as code: `npm run grafana:dashboards` writes deploy/grafana/dashboards/*.json
 * from this file, and a test checks the committed JSON is what it makes (so edit here, not the JSON).
 *
 * Every InfluxDB query names its measurement and fields exactly as packages/contracts/src/measurements.ts
 * does (the InfluxDB schema: database fleet_raw, measurement = channel, tags robot_id + series tags such as
 * servo_id, one field per number); every PostgreSQL query reads tables of the server's migrations, through
 * the read-only role of deploy/postgres/grafana-readonly.sql. Queries are raw InfluxQL / SQL so the tests
 * can run each one (macros substituted) against real engines. The model is typed with Grafana's own
 * dashboard types (@grafana/schema, a devDependency of the server: tsc checks it in `npm run check`).
 */
import { writeFileSync } from 'node:fs';
import {
  type Dashboard,
  type DashboardLink,
  type FieldConfigSource,
  type Panel as GrafanaPanel,
  type RowPanel,
  ThresholdsMode,
  type VariableModel,
} from '@grafana/schema';

/** The provisioned datasources (provisioning/datasources/fleet.yaml): fixed uids the panels refer to. */
export const DATASOURCES = {
  influx: { type: 'influxdb', uid: 'tonypi-influx' },
  influx1m: { type: 'influxdb', uid: 'tonypi-influx-1m' },
  postgres: { type: 'postgres', uid: 'tonypi-postgres' },
} as const;

type DatasourceRef = (typeof DATASOURCES)[keyof typeof DATASOURCES];

export interface Target {
  refId: string;
  datasource: DatasourceRef;
  [key: string]: unknown;
}

/** A panel before the layout gives it an id and a place (Grafana's own panel type, @grafana/schema). */
type PanelBody = GrafanaPanel & { title: string; targets: Target[] };

export type Panel = PanelBody & { id: number; gridPos: { h: number; w: number; x: number; y: number } };

/** InfluxQL series: one raw query; `alias` uses Grafana's `$tag_<name>` for grouped series. */
function influx(refId: string, query: string, alias?: string): Target {
  return {
    refId,
    datasource: DATASOURCES.influx,
    rawQuery: true,
    resultFormat: 'time_series',
    query,
    ...(alias ? { alias } : {}),
  };
}

function sql(refId: string, rawSql: string, format: 'table' | 'time_series' = 'table'): Target {
  return { refId, datasource: DATASOURCES.postgres, editorMode: 'code', rawQuery: true, format, rawSql };
}

/** One robot's series of a measurement: `SELECT <aggregates> FROM "<m>" WHERE robot … GROUP BY time`. */
function robotSeries(measurement: string, select: string, groupBy = ''): string {
  return (
    `SELECT ${select} FROM "${measurement}" WHERE "robot_id" = '$robot_id' AND $timeFilter ` +
    `GROUP BY time($__interval)${groupBy} fill(none)`
  );
}

/** Every robot's series of one field, one line per robot. */
function fleetSeries(measurement: string, select: string): string {
  return `SELECT ${select} FROM "${measurement}" WHERE $timeFilter GROUP BY time($__interval), "robot_id" fill(none)`;
}

/** Lays panels out left to right, wrapping at Grafana's 24 columns; a row starts a new line. */
class Layout {
  readonly panels: (Panel | RowPanel)[] = [];
  private nextId = 1;
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  row(title: string): void {
    this.newLine();
    this.panels.push({
      id: this.nextId++,
      type: 'row',
      title,
      collapsed: false,
      panels: [],
      gridPos: { h: 1, w: 24, x: 0, y: this.y },
    });
    this.y += 1;
  }

  add(panel: PanelBody, w: number, h = 8): void {
    if (this.x + w > 24) this.newLine();
    const datasource = panel.targets[0]?.datasource;
    this.panels.push({
      id: this.nextId++,
      ...panel,
      ...(datasource ? { datasource } : {}),
      gridPos: { h, w, x: this.x, y: this.y },
    });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
  }

  private newLine(): void {
    if (this.x === 0) return;
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

interface Unit {
  unit: string;
  min?: number;
  max?: number;
  decimals?: number;
}

const PERCENT: Unit = { unit: 'percent', min: 0, max: 100 };
const CELSIUS: Unit = { unit: 'celsius' };
const VOLT: Unit = { unit: 'volt' };

function timeseries(title: string, targets: Target[], unit: Unit, description?: string): PanelBody {
  return {
    type: 'timeseries',
    title,
    ...(description ? { description } : {}),
    fieldConfig: {
      defaults: { ...unit, custom: { lineWidth: 1, fillOpacity: 10, spanNulls: true, showPoints: 'never' } },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
    targets,
  };
}

function stat(
  title: string,
  targets: Target[],
  unit: Unit,
  thresholds?: { color: string; value: number | null }[],
) {
  return {
    type: 'stat',
    title,
    fieldConfig: {
      defaults: {
        ...unit,
        thresholds: { mode: ThresholdsMode.Absolute, steps: thresholds ?? [{ color: 'green', value: null }] },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      textMode: 'auto',
      orientation: 'auto',
    },
    targets,
  };
}

function table(title: string, target: Target, overrides: FieldConfigSource['overrides'] = []): PanelBody {
  return {
    type: 'table',
    title,
    fieldConfig: { defaults: {}, overrides },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
    targets: [target],
  };
}

/** A column of a table that opens the robot's dashboard. */
const robotLink = {
  matcher: { id: 'byName', options: 'robot_id' },
  properties: [
    {
      id: 'links',
      value: [
        {
          title: 'Robot dashboard',
          // Grafana's own placeholders, not JavaScript's.
          url: `/d/tonypi-robot/tonypi-robot?var-robot_id=\${__value.raw}&\${__url_time_range}`,
        },
      ],
    },
  ],
};

const BATTERY_STEPS = [
  { color: 'red', value: null },
  { color: 'orange', value: 10 },
  { color: 'green', value: 20 },
];
const TEMPERATURE_STEPS = [
  { color: 'green', value: null },
  { color: 'orange', value: 70 },
  { color: 'red', value: 80 },
];

function link(title: string, url: string): DashboardLink {
  return {
    title,
    type: 'link',
    url,
    icon: 'dashboard',
    tooltip: '',
    tags: [],
    asDropdown: false,
    includeVars: false,
    keepTime: true,
    targetBlank: false,
  };
}

function dashboard(
  uid: string,
  title: string,
  panels: (Panel | RowPanel)[],
  templating: VariableModel[],
  description: string,
): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['tonypi'],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    refresh: '10s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    annotations: { list: [] },
    links: [link('Fleet', '/d/tonypi-fleet/tonypi-fleet'), link('Robot', '/d/tonypi-robot/tonypi-robot')],
    templating: { list: templating },
    panels,
  };
}

export function robotDashboard(): Dashboard {
  const l = new Layout();
  l.row('Now');
  l.add(
    stat(
      'Battery',
      [influx('A', robotSeries('battery', 'last("percent") AS "battery"'))],
      PERCENT,
      BATTERY_STEPS,
    ),
    4,
    5,
  );
  l.add(
    stat('Battery voltage', [influx('A', robotSeries('battery', 'last("voltage_v") AS "voltage"'))], {
      unit: 'volt',
      decimals: 2,
    }),
    4,
    5,
  );
  l.add(
    stat(
      'CPU temperature',
      [influx('A', robotSeries('system', 'last("cpu_temperature_c") AS "cpu"'))],
      CELSIUS,
      TEMPERATURE_STEPS,
    ),
    4,
    5,
  );
  l.add(stat('CPU', [influx('A', robotSeries('system', 'last("cpu_percent") AS "cpu"'))], PERCENT), 4, 5);
  l.add(
    table(
      'Robot',
      sql(
        'A',
        `SELECT robot_id, COALESCE(name, robot_id) AS name, status, registration, protocol, ip_address, last_seen
FROM robots WHERE robot_id = '$robot_id'`,
      ),
    ),
    8,
    5,
  );

  l.row('Power and system');
  l.add(
    timeseries(
      'Battery',
      [influx('A', robotSeries('battery', 'mean("percent") AS "charge"'))],
      PERCENT,
      'Charge in percent (3S LiPo: 9.0 V empty, 12.6 V full).',
    ),
    8,
  );
  l.add(
    timeseries(
      'Battery voltage',
      [influx('A', robotSeries('battery', 'mean("voltage_v") AS "voltage"'))],
      VOLT,
    ),
    8,
  );
  l.add(
    timeseries('Battery current', [influx('A', robotSeries('battery', 'mean("current_a") AS "current"'))], {
      unit: 'amp',
    }),
    8,
  );
  l.add(
    timeseries(
      'CPU, memory and disk',
      [
        influx(
          'A',
          robotSeries(
            'system',
            'mean("cpu_percent") AS "CPU", mean("memory_percent") AS "memory", mean("disk_percent") AS "disk"',
          ),
        ),
      ],
      PERCENT,
    ),
    12,
  );
  l.add(
    timeseries(
      'Temperatures',
      [
        influx('A', robotSeries('system', 'mean("cpu_temperature_c") AS "CPU"')),
        influx('B', robotSeries('servos', 'max("temperature_c") AS "hottest servo"')),
      ],
      CELSIUS,
    ),
    12,
  );

  l.row('Servos (one line per servo)');
  l.add(
    timeseries(
      'Servo temperature',
      [
        influx(
          'A',
          robotSeries('servos', 'mean("temperature_c") AS "t"', ', "servo_id"'),
          'servo $tag_servo_id',
        ),
      ],
      CELSIUS,
    ),
    12,
  );
  l.add(
    timeseries(
      'Servo position',
      [influx('A', robotSeries('servos', 'mean("position") AS "p"', ', "servo_id"'), 'servo $tag_servo_id')],
      {
        unit: 'none',
      },
      'Raw servo position units as the robot reports them (HiWonder bus servos: 0–1000).',
    ),
    12,
  );
  l.add(
    timeseries(
      'Servo voltage',
      [influx('A', robotSeries('servos', 'mean("voltage_v") AS "v"', ', "servo_id"'), 'servo $tag_servo_id')],
      VOLT,
    ),
    12,
  );
  l.add(
    timeseries(
      'Servo load',
      [
        influx(
          'A',
          robotSeries('servos', 'mean("load_percent") AS "load"', ', "servo_id"'),
          'servo $tag_servo_id',
        ),
      ],
      {
        unit: 'percent',
      },
    ),
    12,
  );

  l.row('Sensors');
  l.add(
    timeseries(
      'Acceleration',
      [
        influx(
          'A',
          robotSeries(
            'sensors',
            'mean("accel_x_ms2") AS "x", mean("accel_y_ms2") AS "y", mean("accel_z_ms2") AS "z"',
          ),
        ),
      ],
      { unit: 'accMS2' },
    ),
    8,
  );
  l.add(
    timeseries(
      'Angular rate',
      [
        influx(
          'A',
          robotSeries(
            'sensors',
            'mean("gyro_x_dps") AS "x", mean("gyro_y_dps") AS "y", mean("gyro_z_dps") AS "z"',
          ),
        ),
      ],
      { unit: 'rotdegs' },
    ),
    8,
  );
  l.add(
    timeseries(
      'Orientation',
      [
        influx(
          'A',
          robotSeries(
            'sensors',
            'mean("roll_deg") AS "roll", mean("pitch_deg") AS "pitch", mean("yaw_deg") AS "yaw"',
          ),
        ),
      ],
      { unit: 'degree' },
    ),
    8,
  );
  l.add(
    timeseries(
      'Ultrasonic distance',
      // Stored in centimetres; shown in metres, which Grafana scales (350 mm, 1.2 m) — it has no cm unit.
      [influx('A', robotSeries('sensors', 'mean("ultrasonic_distance_cm") / 100 AS "distance"'))],
      { unit: 'lengthm', min: 0 },
    ),
    12,
  );
  l.add(
    timeseries(
      'Light level',
      [influx('A', robotSeries('sensors', 'mean("light_level_percent") AS "light"'))],
      PERCENT,
    ),
    12,
  );

  l.row('Alerts, jobs and log');
  l.add(
    table(
      'Alerts',
      sql(
        'A',
        `SELECT created_at AS "time", severity, state, alert_type, title, source, value, threshold
FROM alerts WHERE robot_id = '$robot_id' AND $__timeFilter(created_at)
ORDER BY created_at DESC LIMIT 200`,
      ),
    ),
    12,
    9,
  );
  l.add(
    table(
      'Jobs',
      sql(
        'A',
        `SELECT start_time AS "time", COALESCE(task_name, job_key, CAST(id AS TEXT)) AS job, status, items_done, items_total,
  percent_complete, duration_s, cancel_reason
FROM jobs WHERE robot_id = '$robot_id' AND $__timeFilter(start_time)
ORDER BY start_time DESC LIMIT 200`,
      ),
    ),
    12,
    9,
  );
  l.add(
    table(
      'Log',
      sql(
        'A',
        `SELECT "timestamp" AS "time", level, category, source, message
FROM system_logs WHERE robot_id = '$robot_id' AND $__timeFilter("timestamp")
ORDER BY "timestamp" DESC LIMIT 500`,
      ),
    ),
    24,
    9,
  );

  const robotVariable: VariableModel = {
    name: 'robot_id',
    label: 'Robot',
    type: 'query',
    datasource: DATASOURCES.postgres,
    query: 'SELECT robot_id FROM robots WHERE deleted_at IS NULL ORDER BY robot_id',
    refresh: 1,
    sort: 1,
    includeAll: false,
    multi: false,
    hide: 0,
    options: [],
  };
  return dashboard(
    'tonypi-robot',
    'TonyPi robot',
    l.panels,
    [robotVariable],
    'One robot: battery, system, servos, sensors, alerts, jobs and log.',
  );
}

export function fleetDashboard(): Dashboard {
  const l = new Layout();
  l.row('Fleet');
  l.add(
    stat(
      'Robots online',
      [
        sql(
          'A',
          `SELECT count(*) FILTER (WHERE status = 'online') AS online FROM robots WHERE deleted_at IS NULL`,
        ),
      ],
      { unit: 'none', decimals: 0 },
    ),
    4,
    5,
  );
  l.add(
    stat('Robots', [sql('A', 'SELECT count(*) AS robots FROM robots WHERE deleted_at IS NULL')], {
      unit: 'none',
      decimals: 0,
    }),
    4,
    5,
  );
  l.add(
    stat(
      'Open alerts',
      [sql('A', `SELECT count(*) AS open FROM alerts WHERE state <> 'resolved'`)],
      { unit: 'none', decimals: 0 },
      [
        { color: 'green', value: null },
        { color: 'red', value: 1 },
      ],
    ),
    4,
    5,
  );
  l.add(
    stat('Active jobs', [sql('A', `SELECT count(*) AS active FROM jobs WHERE status = 'active'`)], {
      unit: 'none',
      decimals: 0,
    }),
    4,
    5,
  );
  l.add(
    stat(
      'Battery now',
      [
        influx(
          'A',
          'SELECT last("percent") AS "battery" FROM "battery" WHERE $timeFilter GROUP BY "robot_id"',
          '$tag_robot_id',
        ),
      ],
      PERCENT,
      BATTERY_STEPS,
    ),
    8,
    5,
  );
  l.add(
    table(
      'Robots',
      sql(
        'A',
        `SELECT robot_id, COALESCE(name, robot_id) AS name, status, registration, last_seen
FROM robots WHERE deleted_at IS NULL ORDER BY robot_id`,
      ),
      [robotLink],
    ),
    24,
    8,
  );

  l.row('Telemetry (one line per robot)');
  l.add(
    timeseries(
      'Battery',
      [influx('A', fleetSeries('battery', 'mean("percent") AS "charge"'), '$tag_robot_id')],
      PERCENT,
    ),
    12,
  );
  l.add(
    timeseries(
      'CPU',
      [influx('A', fleetSeries('system', 'mean("cpu_percent") AS "cpu"'), '$tag_robot_id')],
      PERCENT,
    ),
    12,
  );
  l.add(
    timeseries(
      'Memory',
      [influx('A', fleetSeries('system', 'mean("memory_percent") AS "memory"'), '$tag_robot_id')],
      PERCENT,
    ),
    8,
  );
  l.add(
    timeseries(
      'Disk',
      [influx('A', fleetSeries('system', 'mean("disk_percent") AS "disk"'), '$tag_robot_id')],
      PERCENT,
    ),
    8,
  );
  l.add(
    timeseries(
      'CPU temperature',
      [influx('A', fleetSeries('system', 'mean("cpu_temperature_c") AS "cpu"'), '$tag_robot_id')],
      CELSIUS,
    ),
    8,
  );
  l.add(
    timeseries(
      'Hottest servo',
      [influx('A', fleetSeries('servos', 'max("temperature_c") AS "servo"'), '$tag_robot_id')],
      CELSIUS,
    ),
    12,
  );
  l.add(
    timeseries(
      'Ultrasonic distance',
      [
        influx(
          'A',
          fleetSeries('sensors', 'mean("ultrasonic_distance_cm") / 100 AS "distance"'),
          '$tag_robot_id',
        ),
      ],
      { unit: 'lengthm', min: 0 },
    ),
    12,
  );

  l.row('Alerts and jobs');
  l.add(
    timeseries(
      'Alerts raised per hour',
      [
        sql(
          'A',
          `SELECT $__timeGroupAlias(created_at, '1h'), severity AS metric, count(*) AS alerts
FROM alerts WHERE $__timeFilter(created_at)
GROUP BY 1, 2 ORDER BY 1`,
          'time_series',
        ),
      ],
      { unit: 'none', decimals: 0 },
    ),
    24,
  );
  l.add(
    table(
      'Recent alerts',
      sql(
        'A',
        `SELECT created_at AS "time", robot_id, severity, state, alert_type, title, value, threshold
FROM alerts WHERE $__timeFilter(created_at)
ORDER BY created_at DESC LIMIT 200`,
      ),
      [robotLink],
    ),
    12,
    10,
  );
  l.add(
    table(
      'Recent jobs',
      sql(
        'A',
        `SELECT start_time AS "time", robot_id, COALESCE(task_name, job_key, CAST(id AS TEXT)) AS job, status,
  items_done, items_total, percent_complete, duration_s
FROM jobs WHERE $__timeFilter(start_time)
ORDER BY start_time DESC LIMIT 200`,
      ),
      [robotLink],
    ),
    12,
    10,
  );
  return dashboard(
    'tonypi-fleet',
    'TonyPi fleet',
    l.panels,
    [],
    'Every robot at a glance: status, telemetry, alerts and jobs.',
  );
}

export const DASHBOARDS = {
  'fleet-overview.json': fleetDashboard,
  'robot.json': robotDashboard,
} as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    const path = new URL(`./dashboards/${file}`, import.meta.url);
    writeFileSync(path, `${JSON.stringify(make(), null, 2)}\n`);
    console.log(`wrote ${path.pathname}`);
  }
}
