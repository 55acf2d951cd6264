import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type Broker,
  connectMqtt as connect,
  DYNSEC_PLUGIN,
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

beforeAll(async () => {
  broker = await startBroker();
  started.push(broker);
  ({ dir, tcpPort, wsPort } = broker);
});

afterAll(async () => {
  for (const b of started) {
    await b.stop();
    rmSync(b.dir, { recursive: true, force: true });
  }
});

describe('deploy/mosquitto/mosquitto.conf on Mosquitto 2', () => {
  it('refuses a client without credentials, and one with a wrong password', async () => {
    await expect(connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'anon' })).rejects.toThrow(
      /Not authorized/i,
    );
    await expect(
      connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'x', username: 'fleet-server', password: 'wrong' }),
    ).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it("carries QoS 1 messages over TCP and WebSocket for the server's account", async () => {
    const auth = { username: 'fleet-server', password: PASSWORD };
    const sub = await connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'sub', ...auth });
    const pub = await connect(`ws://127.0.0.1:${wsPort}`, { clientId: 'pub', ...auth });
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

  it("answers docker-compose's health check: $SYS/broker/uptime, retained, for the server's account", async () => {
    const compose = parse(readFileSync(new URL('docker-compose.yml', DEPLOY_DIR), 'utf8')) as {
      services: { mosquitto: { healthcheck: { test: string[] } } };
    };
    expect(compose.services.mosquitto.healthcheck.test[1]).toContain(
      `-u fleet-server -P "$$MQTT_SERVER_PASSWORD" -t '$$SYS/broker/uptime' -C 1`,
    );
    const client = await connect(`mqtt://127.0.0.1:${tcpPort}`, {
      username: 'fleet-server',
      password: PASSWORD,
    });
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

  it('keeps its state in the persistence file when it stops', async () => {
    const auth = { username: 'fleet-server', password: PASSWORD };
    const retained = await connect(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'status', ...auth });
    await retained.publishAsync('tonypi/tp01/status', '{"status":"online"}', { qos: 1, retain: true });
    await retained.endAsync();
    await broker.stop();
    expect(existsSync(join(dir, 'mosquitto.db')), broker.log()).toBe(true);
    expect(readFileSync(join(dir, 'mosquitto.db')).includes('tonypi/tp01/status')).toBe(true);
  });
});

describe('deploy/mosquitto/mosquitto.conf with its dynamic-security lines uncommented', () => {
  it("starts with the plugin, made by start.sh with the server's account as its admin", async () => {
    const b = await startBroker((conf) =>
      conf
        .replace(/^#plugin \/usr\/lib\/mosquitto_dynamic_security\.so$/m, `plugin ${DYNSEC_PLUGIN}`)
        .replace(/^#plugin_opt_config_file /m, 'plugin_opt_config_file '),
    );
    started.push(b);
    const file = join(b.dir, 'dynamic-security.json');
    expect(statSync(file).mode & 0o077, 'not readable by others').toBe(0);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { clients: { username: string }[] };
    expect(config.clients.map((c) => c.username)).toEqual(['fleet-server']);

    // The plugin's admin (the server, with MQTT_DYNSEC=true) reaches its control topic …
    const server = await connect(`mqtt://127.0.0.1:${b.tcpPort}`, {
      username: 'fleet-server',
      password: PASSWORD,
    });
    try {
      await server.subscribeAsync('$CONTROL/dynamic-security/v1/response');
      const answer = new Promise<string>((resolve) =>
        server.once('message', (_t, p) => resolve(p.toString())),
      );
      await server.publishAsync(
        '$CONTROL/dynamic-security/v1',
        JSON.stringify({ commands: [{ command: 'listClients' }] }),
      );
      expect(JSON.parse(await answer).responses[0].data.clients).toContain('fleet-server');
    } finally {
      await server.endAsync();
    }
    // … and anonymous clients are still refused.
    await expect(connect(`mqtt://127.0.0.1:${b.tcpPort}`, { clientId: 'anon' })).rejects.toThrow(
      /Not authorized/i,
    );
  });
});
