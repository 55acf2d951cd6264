import { defineModule } from '../../core/module';
import type { BrokerAccounts } from '../../robots/broker-accounts';
import { RobotAdminRepository } from '../../robots/robot-admin.repository';
import { StartupError } from '../../startup-error';
import { DynsecAccounts } from './dynsec-accounts';
import { DynsecControl, DynsecError } from './dynsec-control';

declare module '../../core/module' {
  interface Services {
    /** Robots' accounts on the external broker (MQTT_DYNSEC); undefined when the broker's are not managed. */
    brokerAccounts: BrokerAccounts | undefined;
  }
}

/**
 * With MQTT_DYNSEC (Mosquitto's dynamic-security plugin): before the server's own MQTT connection, its login
 * and role are made sure of and the broker's robot clients reconciled with the robots table; afterwards robot
 * registration, rotation, deletion and restore go through `brokerAccounts`. Without it, nothing.
 */
export const dynsecModule = defineModule({
  name: 'mqtt-accounts',
  async create(ctx) {
    const { config, logger } = ctx;
    const admin = config.mqtt.dynsec;
    if (!admin || !config.mqtt.url) return { provides: { brokerAccounts: undefined } };
    const control = await DynsecControl.connect({
      url: config.mqtt.url,
      username: admin.username,
      password: admin.password,
      logger,
    });
    const accounts = new DynsecAccounts(control, logger);
    try {
      await accounts.ensureServer({
        username: config.mqtt.username as string,
        password: config.mqtt.password,
        sharedGroup: config.mqtt.sharedGroup === 'off' ? undefined : config.mqtt.sharedGroup,
      });
      // Under the accounts lock: another instance's registration either committed before this reads the
      // table, or waits until this reconcile is done.
      const db = ctx.get('db');
      const repo = new RobotAdminRepository(db);
      const report = await db.transaction(async (tx) => {
        await repo.lockBrokerAccounts(tx, 'reconcile');
        return accounts.reconcile(await repo.listAccess(tx));
      });
      logger.info(
        {
          robots: report.robots,
          created_without_password: report.created_without_password.length,
          disabled: report.disabled,
          roles_fixed: report.roles_fixed,
        },
        'mqtt dynamic-security accounts reconciled with the robots table',
      );
    } catch (err) {
      await control.close();
      if (err instanceof DynsecError) throw new StartupError(err.message);
      throw err;
    }
    return {
      provides: { brokerAccounts: accounts },
      stop: () => control.close(),
      status: {
        warnings: () => {
          const out: string[] = [];
          if (!control.isConnected()) {
            out.push(
              'The MQTT dynamic-security admin login is disconnected: registering, rotating, deleting and restoring robots fail (503) until it is back.',
            );
          }
          const missing = [...accounts.withoutPassword];
          if (missing.length > 0) {
            out.push(
              `Robots without a password on the broker (rotate their credentials): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}.`,
            );
          }
          return out;
        },
      },
    };
  },
});
