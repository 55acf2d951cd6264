import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type Broker,
  connectMqtt as connect,
  createBrokerClient,
  DYNSEC_ADMIN,
  MQTT_SERVER_PASSWORD as PASSWORD,
  requireMosquitto,
  startBroker,
} from './helpers/deploy';
import { DEPLOY_DIR } from './helpers/grafana';

/**
 * deploy/mosquitto/mosquitto.conf on Debian's Mosquitto 2 (which .ci/run installs): the shipped file with
 * only its ports (free ones on loopback) and its /mosquitto/data paths (a temp dir) rewritten, started by
 * deploy/mosquitto/start.sh as the container starts it. The broker is stopped by its pid.
 */
requireMosquitto();

let broker: Broker;
let dir: string;
let tcpPort: number;
let wsPort: number;
const started: Broker[] = [];
/** A client of the plugin like the server's account (its role: tonypi/# both ways). */
const FLEET = { username: 'fleet-test', password: `fleet-${Math.random().toString(36).slice(2)}` };

beforeAll(async () => {
  broker = await startBroker();
  started.push(broker);
  ({ dir, tcpPort, wsPort } = broker);
  await createBrokerClient(broker, FLEET.username, FLEET.password, [
    { acltype: 'publishClientSend', topic: 'tonypi/#' },
    { acltype: 'subscribePattern', topic: 'tonypi/#' },
  ]);
});

afterAll(async () => {
  for (const b of started) {
    await b.stop();
    rmSync(b.dir, { recursive: true, force: true });
  }
});

describe('deploy/mosquitto/mosquitto.conf on Mosquitto 2 (dynamic-security plugin)', () => {
  it('has the plugin file start.sh made: mode 0600, the admin dynsec-admin its first client', () => {
    const file = join(dir, 'dynamic-security.json');
    expect(statSync(file).mode & 0o077, 'not readable by others').toBe(0);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { clients: { username: string }[] };
    expect(config.clients.map((c) => c.username)).toContain(DYNSEC_ADMIN.username);
  });

  it('refuses a client without credentials, and one with a wrong password', async () => {
    await expect(connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'anon' })).rejects.toThrow(
      /Not authorized/i,
    );
    await expect(
      connect(`mqtt://127.0.0.1:${tcpPort}`, {
        clientId: 'x',
        username: DYNSEC_ADMIN.username,
        password: 'wrong',
      }),
    ).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it("lets the plugin's admin (the server's MQTT_DYNSEC_ADMIN login) manage accounts on $CONTROL", async () => {
    const admin = await connect(`mqtt://127.0.0.1:${tcpPort}`, DYNSEC_ADMIN);
    try {
      await admin.subscribeAsync('$CONTROL/dynamic-security/v1/response');
      const answer = new Promise<string>((resolve) =>
        admin.once('message', (_t, p) => resolve(p.toString())),
      );
      await admin.publishAsync(
        '$CONTROL/dynamic-security/v1',
        JSON.stringify({ commands: [{ command: 'listClients' }] }),
      );
      expect(JSON.parse(await answer).responses[0].data.clients).toEqual(
        expect.arrayContaining([DYNSEC_ADMIN.username, FLEET.username]),
      );
    } finally {
      await admin.endAsync();
    }
  });

  it('carries QoS 1 messages over TCP and WebSocket for a client the plugin knows', async () => {
    const sub = await connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'sub', ...FLEET });
    const pub = await connect(`ws://127.0.0.1:${wsPort}`, { clientId: 'pub', ...FLEET });
    try {
      await sub.subscribeAsync('tonypi/+/telemetry', { qos: 1 });
      const received = new Promise<string>((resolve) =>
        sub.once('message', (_t, payload) => resolve(payload.toString())),
      );
      await pub.publishAsync('tonypi/tp01/telemetry', '{"battery":{"percent":80}}', { qos: 1 });
      expect(await received).toBe('{"battery":{"percent":80}}');
    } finally {
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    }
  });

  it("answers docker-compose's health check: $SYS/broker/uptime, retained, for the plugin's admin", async () => {
    const compose = parse(readFileSync(new URL('docker-compose.yml', DEPLOY_DIR), 'utf8')) as {
      services: { mosquitto: { healthcheck: { test: string[] } } };
    };
    expect(compose.services.mosquitto.healthcheck.test[1]).toContain(
      `-u dynsec-admin -P "$$MQTT_DYNSEC_ADMIN_PASSWORD" -t '$$SYS/broker/uptime' -C 1`,
    );
    const client = await connect(`mqtt://127.0.0.1:${tcpPort}`, DYNSEC_ADMIN);
    try {
      const first = new Promise<boolean>((resolve) =>
        client.once('message', (_t, _p, packet) => resolve(packet.retain)),
      );
      await client.subscribeAsync('$SYS/broker/uptime');
      expect(await first).toBe(true);
    } finally {
      await client.endAsync();
    }
  });

  it('keeps its state when it stops, and start.sh keeps the accounts made at runtime on the next start', async () => {
    const retained = await connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'status', ...FLEET });
    await retained.publishAsync('tonypi/tp01/status', '{"status":"online"}', { qos: 1, retain: true });
    await retained.endAsync();
    await broker.stop();
    expect(existsSync(join(dir, 'mosquitto.db')), broker.log()).toBe(true);
    expect(readFileSync(join(dir, 'mosquitto.db')).includes('tonypi/tp01/status')).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'dynamic-security.json'), 'utf8')) as {
      clients: { username: string }[];
    };
    expect(config.clients.map((c) => c.username)).toContain(FLEET.username);
  });
});

describe('deploy/mosquitto/mosquitto.conf without the plugin (password_file uncommented)', () => {
  it("lets the server's account in from the password file start.sh writes, and nobody else", async () => {
    const b = await startBroker((conf) =>
      conf
        .replace(/^plugin /m, '#plugin ')
        .replace(/^plugin_opt_config_file /m, '#plugin_opt_config_file ')
        .replace(/^#password_file /m, 'password_file '),
    );
    started.push(b);
    expect(statSync(join(b.dir, 'passwd')).mode & 0o077, 'not readable by others').toBe(0);
    expect(existsSync(join(b.dir, 'dynamic-security.json'))).toBe(false);
    const server = await connect(`mqtt://127.0.0.1:${b.tcpPort}`, {
      username: 'fleet-server',
      password: PASSWORD,
    });
    await server.endAsync();
    await expect(connect(`mqtt://127.0.0.1:${b.tcpPort}`, { clientId: 'anon' })).rejects.toThrow(
      /Not authorized/i,
    );
  });
});
