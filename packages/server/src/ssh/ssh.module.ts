import { defineModule } from '../core/module';
import { SecretBox } from '../secret-box';
import { loadSecretsKey } from '../secrets';
import { SshRepository } from './ssh.repository';
import { sshRoutes } from './ssh.routes';
import { SshService } from './ssh.service';
import { TerminalSessions } from './terminal-sessions';

declare module '../core/module' {
  interface Services {
    /** Robots' SSH settings and host keys (the terminal's). */
    ssh: SshService;
  }
}

/** The SSH terminal to robots (issue #11 §1): settings with sealed secrets, host keys pinned, WS ↔ SSH. */
export const sshModule = defineModule({
  name: 'ssh',
  async create(ctx) {
    const settings = ctx.config.ssh;
    const db = ctx.get('db');
    const robots = ctx.get('robots');
    const registry = ctx.get('registry');
    const repo = new SshRepository(db);
    const box = new SecretBox(await loadSecretsKey(settings.secretsKey, ctx.config.dataDir));
    const audit = ctx.get('audit');
    const ssh = new SshService({
      repo,
      box,
      audit,
      requireRobot: (id) => robots.require(id),
      reportedIp: (robot) => registry.get(robot.robot_id)?.ip_address ?? robot.ip_address,
      connectTimeoutMs: settings.connectTimeoutMs,
    });
    const terminals = new TerminalSessions(settings.maxSessionsPerUser);
    return {
      provides: { ssh },
      routes: sshRoutes({
        ssh,
        repo,
        audit,
        terminals,
        connectTimeoutMs: settings.connectTimeoutMs,
        idleTimeoutMs: settings.idleTimeoutMs,
      }),
      stop: () => terminals.endAll(),
      status: {
        health: () => ({ terminals: { open: terminals.size, ...terminals.counters } }),
        metrics: [
          {
            name: 'tonypi_terminals_open',
            help: 'SSH terminals open',
            type: 'gauge',
            read: () => terminals.size,
          },
          {
            name: 'tonypi_terminals_started_total',
            help: 'SSH terminals opened',
            type: 'counter',
            read: () => terminals.counters.started,
          },
          {
            name: 'tonypi_terminals_failed_total',
            help: 'SSH terminals that ended with an error (connection, login, host key)',
            type: 'counter',
            read: () => terminals.counters.failed,
          },
        ],
      },
    };
  },
});
