import { describe, expect, it } from 'vitest';
import { migrate } from './migrate';
import type { OpenTestDatabase } from './test-databases';

const VARCHAR = 'character varying';
const INT = 'integer';
const FLOAT = 'double precision';
const TSTZ = 'timestamp with time zone';
const BOOL = 'boolean';
const JSONB = 'jsonb';
const TEXT = 'text';

/** Seed 003's tables and columns (information_schema data types); ours may add columns, never drop these. */
export const SEED_COLUMNS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  users: {
    id: VARCHAR,
    username: VARCHAR,
    email: VARCHAR,
    password_hash: VARCHAR,
    role: VARCHAR,
    is_active: BOOL,
    created_at: TSTZ,
    updated_at: TSTZ,
  },
  robots: {
    id: INT,
    robot_id: VARCHAR,
    name: VARCHAR,
    description: TEXT,
    location: JSONB,
    status: VARCHAR,
    ip_address: VARCHAR,
    camera_url: VARCHAR,
    battery_threshold_low: FLOAT,
    battery_threshold_critical: FLOAT,
    temp_threshold_warning: FLOAT,
    temp_threshold_critical: FLOAT,
    settings: JSONB,
    last_seen: TSTZ,
    created_at: TSTZ,
    updated_at: TSTZ,
    is_active: BOOL,
  },
  jobs: {
    id: INT,
    robot_id: VARCHAR,
    start_time: TSTZ,
    end_time: TSTZ,
    items_total: INT,
    items_done: INT,
    percent_complete: FLOAT,
    last_item: JSONB,
    status: VARCHAR,
    created_at: TSTZ,
    updated_at: TSTZ,
  },
  alerts: {
    id: INT,
    robot_id: VARCHAR,
    alert_type: VARCHAR,
    severity: VARCHAR,
    title: VARCHAR,
    message: TEXT,
    source: VARCHAR,
    value: FLOAT,
    threshold: FLOAT,
    acknowledged: BOOL,
    acknowledged_by: VARCHAR,
    acknowledged_at: TSTZ,
    resolved: BOOL,
    resolved_at: TSTZ,
    details: JSONB,
    created_at: TSTZ,
  },
  alert_thresholds: {
    id: INT,
    robot_id: VARCHAR,
    metric_type: VARCHAR,
    warning_threshold: FLOAT,
    critical_threshold: FLOAT,
    enabled: BOOL,
    created_at: TSTZ,
    updated_at: TSTZ,
  },
  reports: {
    id: INT,
    title: VARCHAR,
    description: TEXT,
    robot_id: VARCHAR,
    report_type: VARCHAR,
    data: JSONB,
    file_path: VARCHAR,
    created_at: TSTZ,
    created_by: VARCHAR,
  },
  system_logs: {
    id: INT,
    level: VARCHAR,
    category: VARCHAR,
    message: TEXT,
    robot_id: VARCHAR,
    details: JSONB,
    timestamp: TSTZ,
  },
};

/** The seed's indexes that are still created (those duplicating a UNIQUE constraint are not). */
const SEED_INDEXES = [
  'idx_users_role',
  'idx_robots_status',
  'idx_robots_is_active',
  'idx_jobs_robot_id',
  'idx_jobs_status',
  'idx_jobs_start_time',
  'idx_jobs_created_at',
  'idx_alerts_robot_id',
  'idx_alerts_alert_type',
  'idx_alerts_severity',
  'idx_alerts_acknowledged',
  'idx_alerts_resolved',
  'idx_alerts_created_at',
  'idx_alert_thresholds_robot_id',
  'idx_alert_thresholds_metric_type',
  'idx_reports_robot_id',
  'idx_reports_report_type',
  'idx_reports_created_at',
  'idx_reports_title',
  'idx_system_logs_level',
  'idx_system_logs_category',
  'idx_system_logs_robot_id',
  'idx_system_logs_timestamp',
];

export function describeMigrationsContract(open: OpenTestDatabase): void {
  describe('migrate', () => {
    it('applies every migration to a fresh database and records each one', async () => {
      const db = await open({ migrated: false });
      const { applied } = await migrate(db);
      expect(applied[0]).toEqual({ version: 1, name: '0001_initial' });
      const { rows } = await db.query<{ version: number; name: string; applied_at: Date }>(
        'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(applied.map((m) => m.version));
      expect(rows[0]?.applied_at).toBeInstanceOf(Date);
    });

    it('does nothing on a second run', async () => {
      const db = await open({ migrated: false });
      await migrate(db);
      const second = await migrate(db);
      expect(second.applied).toEqual([]);
    });

    it('applies each migration once when two servers start together', async () => {
      const db = await open({ migrated: false });
      const [a, b] = await Promise.all([migrate(db), migrate(db)]);
      const versions = [...a.applied, ...b.applied].map((m) => m.version).sort((x, y) => x - y);
      const { rows } = await db.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      expect(versions).toEqual(rows.map((r) => r.version));
    });

    it("creates every seed table with the seed's columns and types", async () => {
      const db = await open({ migrated: false });
      await migrate(db);
      const { rows } = await db.query<{ table_name: string; column_name: string; data_type: string }>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
        [Object.keys(SEED_COLUMNS)],
      );
      const actual: Record<string, Record<string, string>> = {};
      for (const row of rows) {
        actual[row.table_name] ??= {};
        actual[row.table_name]![row.column_name] = row.data_type;
      }
      for (const [table, columns] of Object.entries(SEED_COLUMNS)) {
        expect(actual[table], table).toMatchObject(columns);
      }
      expect(actual.robots).toMatchObject({ protocol: VARCHAR, first_seen: TSTZ });
    });

    it("creates the seed's indexes", async () => {
      const db = await open({ migrated: false });
      await migrate(db);
      const { rows } = await db.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()',
      );
      expect(rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(SEED_INDEXES));
    });

    it('seeds the global alert thresholds exactly once, even after two runs', async () => {
      const db = await open({ migrated: false });
      await migrate(db);
      await migrate(db);
      const { rows } = await db.query(
        `SELECT metric_type, warning_threshold, critical_threshold, enabled FROM alert_thresholds
         WHERE robot_id IS NULL ORDER BY metric_type`,
      );
      expect(rows).toEqual([
        { metric_type: 'battery', warning_threshold: 20, critical_threshold: 10, enabled: true },
        { metric_type: 'cpu', warning_threshold: 70, critical_threshold: 90, enabled: true },
        { metric_type: 'memory', warning_threshold: 75, critical_threshold: 90, enabled: true },
        { metric_type: 'servo_temp', warning_threshold: 60, critical_threshold: 75, enabled: true },
        { metric_type: 'temperature', warning_threshold: 70, critical_threshold: 80, enabled: true },
      ]);
    });

    it('rolls back a failing migration and records nothing for it', async () => {
      const db = await open({ migrated: false });
      const migrations = [
        { version: 1, name: '0001_ok', sql: 'CREATE TABLE a (id INT);' },
        { version: 2, name: '0002_broken', sql: 'CREATE TABLE b (id INT); SELECT no_such_function();' },
      ];
      await expect(migrate(db, { migrations })).rejects.toThrow(/Migration 0002_broken failed/);
      const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
      expect(rows.map((r) => r.version)).toEqual([1]);
      await expect(db.query('SELECT * FROM b')).rejects.toThrow(/does not exist/);
    });
  });
}
