import type { Queryable } from './database';

export type MetricType = 'cpu' | 'memory' | 'temperature' | 'battery' | 'servo_temp';

export interface AlertThresholdRow {
  id: number;
  /** NULL for a global default. */
  robot_id: string | null;
  /** One of `MetricType` for the seeded rows; other metric names may be added. */
  metric_type: string;
  warning_threshold: number;
  critical_threshold: number;
  enabled: boolean | null;
  created_at: Date | null;
  updated_at: Date | null;
}

const COLUMNS =
  'id, robot_id, metric_type, warning_threshold, critical_threshold, enabled, created_at, updated_at';

export class AlertThresholdsRepository {
  constructor(private readonly db: Queryable) {}

  /** The defaults that apply to every robot without its own threshold for a metric. */
  async listGlobal(): Promise<AlertThresholdRow[]> {
    const { rows } = await this.db.query<AlertThresholdRow>(
      `SELECT ${COLUMNS} FROM alert_thresholds WHERE robot_id IS NULL ORDER BY metric_type`,
    );
    return rows;
  }

  /** Only the robot's own overrides; merge with `listGlobal()` for the effective set. */
  async listForRobot(robot_id: string): Promise<AlertThresholdRow[]> {
    const { rows } = await this.db.query<AlertThresholdRow>(
      `SELECT ${COLUMNS} FROM alert_thresholds WHERE robot_id = $1 ORDER BY metric_type`,
      [robot_id],
    );
    return rows;
  }
}
