import {
  type RobotConfig,
  type RobotConfigPayload,
  type RobotConfigVersion,
  topics,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { MessageBus } from '../broker/message-bus';
import type { Database } from '../db/database';
import { ApiError, conflict } from '../errors';
import type { Logger } from '../logger';
import type { RobotConfigRepository } from './robot-config.repository';

/** Versions the history answers at most. */
export const CONFIG_HISTORY_LIMIT = 100;

export interface RobotConfigServiceOptions {
  db: Database;
  repo: RobotConfigRepository;
  audit: AuditTrail;
  bus: MessageBus;
  /** Throws robot_not_found (404) for a robot the server does not know. */
  requireRobot: (robot_id: string) => Promise<unknown>;
  logger: Logger;
}

const none = (robot_id: string): RobotConfigVersion => ({
  robot_id,
  version: 0,
  config: {},
  changed_by: null,
  changed_at: null,
});

/**
 * Robots' configurations: versioned in the database, sent to the robot retained at QoS 1 on
 * `tonypi/{id}/config`. A change names the version it is based on (body `version` or If-Match): a stale one
 * is refused (409), so two people editing at once cannot overwrite each other unknowingly.
 */
export class RobotConfigService {
  constructor(private readonly opts: RobotConfigServiceOptions) {}

  async current(robot_id: string): Promise<RobotConfigVersion> {
    await this.opts.requireRobot(robot_id);
    return (await this.opts.repo.current(robot_id)) ?? none(robot_id);
  }

  async history(robot_id: string): Promise<RobotConfigVersion[]> {
    await this.opts.requireRobot(robot_id);
    return this.opts.repo.history(robot_id, CONFIG_HISTORY_LIMIT);
  }

  async put(
    robot_id: string,
    change: { config: RobotConfig; expectedVersion?: number },
    auditor: Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>,
  ): Promise<RobotConfigVersion> {
    await this.opts.requireRobot(robot_id);
    const { repo, audit } = this.opts;
    const saved = await this.opts.db.transaction(async (tx) => {
      const current = (await repo.current(robot_id, tx))?.version ?? 0;
      if (change.expectedVersion !== undefined && change.expectedVersion !== current) {
        throw conflict(
          `Version ${change.expectedVersion} of ${robot_id}'s config is not the current one (${current})`,
          {
            current_version: current,
          },
        );
      }
      const row = await repo.insert(tx, {
        robot_id,
        version: current + 1,
        config: change.config,
        changed_by: auditor.actor.name ?? auditor.actor.id,
      });
      if (!row) {
        throw conflict(`${robot_id}'s config changed at the same time: read it again`, {
          current_version: current + 1,
        });
      }
      await audit.record(
        {
          ...auditor,
          action: 'robot.config.update',
          target: { type: 'robot', id: robot_id },
          outcome: 'success',
          details: { version: row.version, config: change.config },
        },
        tx,
      );
      return row;
    });
    await this.publish(saved);
    return saved;
  }

  /** Every robot's current configuration, retained again (the embedded broker forgets them at a restart). */
  async republishAll(): Promise<number> {
    const all = await this.opts.repo.allCurrent();
    for (const v of all) await this.publish(v).catch(() => undefined);
    return all.length;
  }

  private async publish(v: RobotConfigVersion): Promise<void> {
    const payload: RobotConfigPayload = {
      ...v.config,
      version: v.version,
      ts: v.changed_at ? Date.parse(v.changed_at) : Date.now(),
    };
    try {
      await this.opts.bus.publish(topics.config(v.robot_id), JSON.stringify(payload), {
        qos: 1,
        retain: true,
      });
    } catch (err) {
      // Stored and audited: the robot gets it on the next start's republish, or the next change.
      this.opts.logger.error({ err, robot_id: v.robot_id, version: v.version }, 'robot config not published');
      throw new ApiError(
        503,
        'service_unavailable',
        'The config was saved but could not be sent to the robot',
      );
    }
  }
}
