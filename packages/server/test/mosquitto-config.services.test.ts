import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY_DIR } from './helpers/grafana';

/**
 * deploy/mosquitto/mosquitto.conf on Debian's Mosquitto 2 (which .ci/run installs): the shipped file with
 * only its ports (free ones on loopback) and its /mosquitto/data paths (a temp dir) rewritten, started by
 * deploy/mosquitto/start.sh as the container starts it. The broker is stopped by its pid.
 */
const MOSQUITTO = '/usr/sbin/mosquitto';
/** Debian's path for the plugin (the image's is /usr/lib/mosquitto_dynamic_security.so). */
const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
if (!existsSync(MOSQUITTO))
  throw new Error(`${MOSQUITTO} is missing: apt-get install mosquitto (see .ci/run)`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

async function connect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
  return client;
}

interface Broker {
  dir: string;
  tcpPort: number;
  wsPort: number;
  process: ChildProcess;
  log(): string;
  /** SIGTERM to its pid (start.sh execs the broker, so that pid is Mosquitto's), then its temp dir. */
  stop(): Promise<void>;
}

/** The shipped config, ports and data paths rewritten (`edit` for more), started by start.sh. */
async function startBroker(edit: (conf: string) => string = (c) => c): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'tonypi-mosquitto-conf-'));
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const conf = edit(
    readFileSync(new URL('mosquitto/mosquitto.conf', DEPLOY_DIR), 'utf8')
      .replace(/^listener 1883$/m, `listener ${tcpPort} 127.0.0.1`)
      .replace(/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`)
      .replaceAll('/mosquitto/data/', `${dir}/`)
      .replaceAll('/mosquitto/data', dir),
  );
  expect(conf).not.toMatch(/^[^#].*\/mosquitto\//m);
  writeFileSync(join(dir, 'mosquitto.conf'), conf);
  if (process.getuid?.() === 0) {
    // As root, Mosquitto drops to its own user before it writes its database.
    const uid = Number(execFileSync('id', ['-u', 'mosquitto']).toString());
    const gid = Number(execFileSync('id', ['-g', 'mosquitto']).toString());
    chownSync(dir, uid, gid);
  }
  // The container's command itself: it writes the password file, then execs the broker (same pid).
  const child = spawn('sh', [new URL('mosquitto/start.sh', DEPLOY_DIR).pathname], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      MQTT_SERVER_PASSWORD: PASSWORD,
      MOSQUITTO_DATA_DIR: dir,
      MOSQUITTO_CONFIG: join(dir, 'mosquitto.conf'),
    },
  });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  // Its log goes to stdout, block-buffered on a pipe: wait for both listeners instead.
  for (const port of [tcpPort, wsPort]) {
    for (let i = 0; !(await accepts(port)); i++) {
      if (i > 100 || child.exitCode !== null) {
        await stop();
        throw new Error(`mosquitto did not listen on ${port}: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { dir, tcpPort, wsPort, process: child, log: () => log, stop };
}

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
