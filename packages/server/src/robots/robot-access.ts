import type { Config } from '../config';
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import { loadRobotSecretKey } from '../secrets';
import { RobotActivity } from './robot-activity';
import { RobotActivityRepository } from './robot-activity.repository';
import { RobotAdminRepository } from './robot-admin.repository';
import { RobotCredentials } from './robot-credentials';
import type { RobotRegistry } from './robot-registry';

declare module '../core/module' {
  interface Services {
    /** Robots' MQTT credentials, in memory, as the embedded broker checks them. */
    robotCredentials: RobotCredentials;
    /** Per-robot statistics the ingest counts (GET /robots/{id}/stats). */
    robotActivity: RobotActivity;
  }
}

/**
 * What the broker and the ingest need of robots before the domain modules start: the credentials (loaded from
 * the database, with the server's robot-secret key) and the statistics counter.
 */
export async function openRobotAccess(opts: {
  db: Database;
  config: Readonly<Config>;
  registry: RobotRegistry;
  logger: Logger;
}): Promise<{ credentials: RobotCredentials; activity: RobotActivity }> {
  const key = await loadRobotSecretKey(opts.config.robots.secretKey, opts.config.dataDir);
  const credentials = new RobotCredentials(key);
  credentials.load(await new RobotAdminRepository(opts.db).listAccess());
  const activity = new RobotActivity({
    repo: new RobotActivityRepository(opts.db),
    logger: opts.logger,
    online: function* () {
      for (const robot of opts.registry.all()) if (robot.status !== 'offline') yield robot.robot_id;
    },
  });
  activity.start();
  return { credentials, activity };
}
