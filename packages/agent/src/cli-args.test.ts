import { describe, expect, it } from 'vitest';
import { CliError, parseCli } from './cli-args';

describe('tonypi-agent simulate flags', () => {
  it('has defaults: 3 robots at 1 Hz on the local broker, canonical, faults on', () => {
    expect(parseCli(['simulate'])).toEqual({
      kind: 'simulate',
      args: {
        fleet: {
          brokerUrl: 'mqtt://127.0.0.1:1883',
          robots: 3,
          rateHz: 1,
          protocol: 'canonical',
          faults: true,
          autonomy: true,
        },
        durationS: null,
        stats: false,
      },
    });
  });

  it('reads every flag', () => {
    const parsed = parseCli([
      'simulate',
      '--robots',
      '20',
      '--rate',
      '10',
      '--broker',
      'mqtt://broker:1884',
      '--protocol',
      'legacy',
      '--prefix',
      'bot_',
      '--no-faults',
      '--seed',
      '42',
      '--username',
      'u',
      '--password',
      'p',
      '--duration',
      '30',
      '--stats',
    ]);
    expect(parsed).toEqual({
      kind: 'simulate',
      args: {
        fleet: {
          brokerUrl: 'mqtt://broker:1884',
          robots: 20,
          rateHz: 10,
          protocol: 'legacy',
          idPrefix: 'bot_',
          faults: false,
          autonomy: true,
          seed: 42,
          username: 'u',
          password: 'p',
        },
        durationS: 30,
        stats: true,
      },
    });
  });

  it('shows help', () => {
    expect(parseCli([])).toEqual({ kind: 'help' });
    expect(parseCli(['simulate', '--help'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['fly'], "unknown command 'fly' (expected: simulate)"],
    [['simulate', '--robots', 'many'], "--robots must be a number, got 'many'"],
    [['simulate', '--robots', '0'], '--robots must be between 1 and 10000, got 0'],
    [['simulate', '--robots', '2.5'], '--robots must be a whole number, got 2.5'],
    [['simulate', '--rate', '5000'], '--rate must be between 0.01 and 1000, got 5000'],
    [['simulate', '--protocol', 'v2'], "--protocol must be canonical or legacy, got 'v2'"],
    [
      ['simulate', '--broker', 'localhost'],
      "--broker must be a URL such as mqtt://127.0.0.1:1883, got 'localhost'",
    ],
    [['simulate', '--username', 'u'], '--username and --password go together'],
  ])('rejects %j: %s', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(new CliError(message));
  });

  it('rejects unknown flags with parseArgs’ message', () => {
    expect(() => parseCli(['simulate', '--robtos', '3'])).toThrow(/Unknown option '--robtos'/);
  });
});
