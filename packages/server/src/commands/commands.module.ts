import { defineModule } from '../core/module';
import { CommandsRepository } from './commands.repository';
import { commandsRoutes } from './commands.routes';
import { CommandService } from './commands.service';

declare module '../core/module' {
  interface Services {
    /** Commands to robots, emergency stops and resumes (issue #7 §3). */
    commands: CommandService;
  }
}

/** Commands and emergency stops: after `broker`, since it publishes to robots through `bus`. */
export const commandsModule = defineModule({
  name: 'commands',
  create(ctx) {
    const commands = new CommandService({
      repo: new CommandsRepository(ctx.get('db'), ctx.get('db').urgent),
      bus: ctx.get('bus'),
      registry: ctx.get('registry'),
      events: ctx.get('events'),
      audit: ctx.get('audit'),
      logger: ctx.logger,
      rate: { perS: ctx.config.commands.perUserPerS, burst: ctx.config.commands.burst },
    });
    return {
      provides: { commands },
      routes: commandsRoutes(commands),
      start: () => commands.start(),
      stop: () => commands.stop(),
      status: {
        metrics: [
          {
            name: 'tonypi_commands_sent_total',
            help: 'Commands published to robots',
            type: 'counter',
            read: () => commands.counters.sent,
          },
          {
            name: 'tonypi_commands_timed_out_total',
            help: 'Commands no robot answered in time',
            type: 'counter',
            read: () => commands.counters.timed_out,
          },
          {
            name: 'tonypi_command_responses_unmatched_total',
            help: 'Robot answers that matched no open command (unknown id, another robot, or late)',
            type: 'counter',
            read: () => commands.counters.responses_unmatched,
          },
        ],
      },
    };
  },
});
