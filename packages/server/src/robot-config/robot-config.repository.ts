import type { RobotConfig, RobotConfigVersion } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

interface ConfigRow {
  robot_id: string;
  version: number;
  config: RobotConfig;
  changed_by: string | null;
  changed_at: Date;
}

const toVersion = (r: ConfigRow): RobotConfigVersion => ({
  robot_id: r.robot_id,
  version: r.version,
  config: r.config,
  changed_by: r.changed_by,
  changed_at: r.changed_at.toISOString(),
});

/** SQL of `robot_configs`: one row per version, the current one the highest. */
export class RobotConfigRepository {
  constructor(private readonly db: Queryable) {}

  async current(robot_id: string, tx: Queryable = this.db): Promise<RobotConfigVersion | undefined> {
    const { rows } = await tx.query<ConfigRow>(
      `SELECT robot_id, version, config, changed_by, changed_at FROM robot_configs
       WHERE robot_id = $1 ORDER BY version DESC LIMIT 1`,
      [robot_id],
    );
    return rows[0] && toVersion(rows[0]);
  }

  async history(robot_id: string, limit: number): Promise<RobotConfigVersion[]> {
    const { rows } = await this.db.query<ConfigRow>(
      `SELECT robot_id, version, config, changed_by, changed_at FROM robot_configs
       WHERE robot_id = $1 ORDER BY version DESC LIMIT ${Math.trunc(limit)}`,
      [robot_id],
    );
    return rows.map(toVersion);
  }

  /**
   * Adds `version`; false when that version exists already (a concurrent change won: the primary key
   * refuses the second).
   */
  async insert(
    tx: Queryable,
    row: { robot_id: string; version: number; config: RobotConfig; changed_by: string | null },
  ): Promise<RobotConfigVersion | undefined> {
    const { rows } = await tx.query<ConfigRow>(
      `INSERT INTO robot_configs (robot_id, version, config, changed_by)
       VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (robot_id, version) DO NOTHING
       RETURNING robot_id, version, config, changed_by, changed_at`,
      [row.robot_id, row.version, JSON.stringify(row.config), row.changed_by],
    );
    return rows[0] && toVersion(rows[0]);
  }

  /** Every robot's current configuration (republished at start: the embedded broker keeps none). */
  async allCurrent(): Promise<RobotConfigVersion[]> {
    const { rows } = await this.db.query<ConfigRow>(
      `SELECT DISTINCT ON (robot_id) robot_id, version, config, changed_by, changed_at
       FROM robot_configs ORDER BY robot_id, version DESC`,
    );
    return rows.map(toVersion);
  }
}
