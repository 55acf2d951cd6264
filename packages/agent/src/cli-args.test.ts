import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, parseCli } from './cli-args';

function credentialsFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tonypi-cli-')), 'robots.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const answer = (id: string) => ({
  robot: { robot_id: id },
  mqtt: { username: id, password: `tpr_${id}`, url: 'mqtt://fleet.example:1883' },
});

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

  it('takes per-robot credentials from a file as POST /robots answers it, or a list of them', () => {
    const one = parseCli(['simulate', '--credentials', credentialsFile(answer('r1'))]);
    if (one.kind !== 'simulate') throw new Error('expected simulate');
    expect(one.args.fleet).toMatchObject({
      robots: 1,
      robotIds: ['r1'],
      brokerUrl: 'mqtt://fleet.example:1883',
    });
    expect(one.args.fleet.credentials?.('r1')).toEqual({ username: 'r1', password: 'tpr_r1' });
    const two = parseCli([
      'simulate',
      '--credentials',
      credentialsFile([answer('r1'), answer('r2')]),
      '--broker',
      'mqtt://127.0.0.1:1883',
    ]);
    if (two.kind !== 'simulate') throw new Error('expected simulate');
    expect(two.args.fleet).toMatchObject({
      robots: 2,
      robotIds: ['r1', 'r2'],
      brokerUrl: 'mqtt://127.0.0.1:1883',
    });
    expect(two.args.fleet.credentials?.('r2')).toEqual({ username: 'r2', password: 'tpr_r2' });
  });

  it('makes a lone robot with --username that robot (username = client id = robot id)', () => {
    const parsed = parseCli(['simulate', '--robots', '1', '--username', 'cart_7', '--password', 'tpr_x']);
    if (parsed.kind !== 'simulate') throw new Error('expected simulate');
    expect(parsed.args.fleet).toMatchObject({ robots: 1, robotIds: ['cart_7'], username: 'cart_7' });
  });

  it('rejects a credentials file it cannot use, saying why', () => {
    expect(() => parseCli(['simulate', '--credentials', credentialsFile('{not json')])).toThrow(
      /--credentials .*JSON/,
    );
    expect(() => parseCli(['simulate', '--credentials', credentialsFile([{ robot: {} }])])).toThrow(
      /entry 1 has no mqtt.username and mqtt.password/,
    );
    expect(() =>
      parseCli(['simulate', '--credentials', credentialsFile([answer('r1'), answer('r1')])]),
    ).toThrow(/a robot appears twice/);
    expect(() =>
      parseCli(['simulate', '--credentials', credentialsFile(answer('r1')), '--robots', '3']),
    ).toThrow('--credentials names the robots: leave out --robots');
    expect(() => parseCli(['simulate', '--credentials', '/nonexistent/robots.json'])).toThrow(/ENOENT/);
  });
});

describe('tonypi-agent simulate camera flags', () => {
  it('takes a camera port, or none at all', () => {
    const port = parseCli(['simulate', '--camera-port', '8081']);
    expect(port.kind === 'simulate' && port.args.fleet.camera).toEqual({ port: 8081 });
    const none = parseCli(['simulate', '--no-camera']);
    expect(none.kind === 'simulate' && none.args.fleet.camera).toBe(false);
    expect(() => parseCli(['simulate', '--no-camera', '--camera-port', '1'])).toThrow(CliError);
  });
});
