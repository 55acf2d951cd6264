import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { capturingLogger } from '../test-fakes';
import { type DomainModule, defineModule, ServiceRegistry } from './module';
import { ModuleHost } from './module-host';

const config = loadConfig({ DATA_DIR: '/tmp/unused', ADMIN_PASSWORD: 'correct-horse-battery-staple' });

/** A module that records what happens to it in `log`. */
function recorded(name: string, log: string[], opts: { failCreate?: boolean; failStop?: boolean } = {}) {
  return defineModule({
    name,
    create() {
      if (opts.failCreate) throw new Error(`${name} cannot be created`);
      log.push(`create ${name}`);
      return {
        start: () => {
          log.push(`start ${name}`);
        },
        stop: () => {
          log.push(`stop ${name}`);
          if (opts.failStop) throw new Error(`${name} fails to stop`);
        },
      };
    },
  });
}

function host() {
  const { logger, lines } = capturingLogger();
  const phases: string[] = [];
  const h = new ModuleHost({
    services: new ServiceRegistry(),
    config,
    logger,
    onPhase: (m) => phases.push(m),
  });
  return { h, lines, phases };
}

describe('ModuleHost', () => {
  it('creates every module in list order, then starts them in list order, and stops them in reverse', async () => {
    const log: string[] = [];
    const { h, phases } = host();
    await h.create([recorded('a', log), recorded('b', log), recorded('c', log)]);
    await h.start();
    await h.stop();
    expect(log).toEqual([
      'create a',
      'create b',
      'create c',
      'start a',
      'start b',
      'start c',
      'stop c',
      'stop b',
      'stop a',
    ]);
    expect(phases).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('stops the modules created before one that fails to be created, last first, and passes the error on', async () => {
    const log: string[] = [];
    const { h } = host();
    await expect(
      h.create([recorded('a', log), recorded('b', log), recorded('c', log, { failCreate: true })]),
    ).rejects.toThrow('c cannot be created');
    await h.stop();
    expect(log).toEqual(['create a', 'create b', 'stop b', 'stop a']);
  });

  it('logs a module that fails to stop and still stops the others, once', async () => {
    const log: string[] = [];
    const { h, lines } = host();
    await h.create([recorded('a', log), recorded('b', log, { failStop: true })]);
    await h.stop();
    await h.stop();
    expect(log).toEqual(['create a', 'create b', 'stop b', 'stop a']);
    expect(lines.filter((l) => l.msg === 'error during shutdown')).toEqual([
      expect.objectContaining({
        level: 50,
        module: 'b',
        err: expect.objectContaining({ message: 'b fails to stop' }),
      }),
    ]);
  });

  it('gives each module what the ones before it provide, and names both when the order is wrong', async () => {
    const provider: DomainModule = defineModule({
      name: 'provider',
      create: () => ({ provides: { jwtSecret: 'from provider' } }),
    });
    let got: string | undefined;
    const consumer: DomainModule = defineModule({
      name: 'consumer',
      create: (ctx) => {
        got = ctx.get('jwtSecret');
        return {};
      },
    });
    await host().h.create([provider, consumer]);
    expect(got).toBe('from provider');
    await expect(host().h.create([consumer, provider])).rejects.toThrow(
      'Module consumer needs jwtSecret, which no module before it provides',
    );
  });
});
