import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY_DIR } from './grafana';

/**
 * deploy/ as the services tests run it without Docker: Debian's Mosquitto on deploy/mosquitto's config and
 * start script, and docker-compose.yml's environments with their variables resolved like compose does.
 */

export const MOSQUITTO = '/usr/sbin/mosquitto';
/** Debian's path for the plugin (the image's is /usr/lib/mosquitto_dynamic_security.so). */
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export function requireMosquitto(): void {
  if (!existsSync(MOSQUITTO))
    throw new Error(`${MOSQUITTO} is missing: apt-get install mosquitto (see .ci/run)`);
}

export function freePort(): Promise<number> {
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

/** The server's Mosquitto password in these tests (start.sh writes it for fleet-server). */
export const MQTT_SERVER_PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
/** The dynamic-security plugin's admin that start.sh makes (MQTT_DYNSEC_ADMIN_PASSWORD). */
export const DYNSEC_ADMIN = {
  username: 'dynsec-admin',
  password: `admin-${Math.random().toString(36).slice(2)}`,
};

export async function connectMqtt(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
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

export interface Broker {
  dir: string;
  tcpPort: number;
  wsPort: number;
  process: ChildProcess;
  log(): string;
  /** SIGTERM to its pid (start.sh execs the broker, so that pid is Mosquitto's), then its temp dir. */
  stop(): Promise<void>;
}

/** The shipped config, ports, data paths and plugin path (Debian's) rewritten (`edit` for more), started by start.sh. */
export async function startBroker(edit: (conf: string) => string = (c) => c): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'tonypi-mosquitto-conf-'));
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const conf = edit(
    readFileSync(new URL('mosquitto/mosquitto.conf', DEPLOY_DIR), 'utf8')
      .replace(/^listener 1883$/m, `listener ${tcpPort} 127.0.0.1`)
      .replace(/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`)
      .replaceAll('/mosquitto/data/', `${dir}/`)
      .replaceAll('/mosquitto/data', dir)
      .replace(/^plugin \/usr\/lib\/mosquitto_dynamic_security\.so$/m, `plugin ${DYNSEC_PLUGIN}`),
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
      MQTT_SERVER_PASSWORD,
      MQTT_DYNSEC_ADMIN_PASSWORD: DYNSEC_ADMIN.password,
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

/**
 * A service's `environment` from docker-compose.yml, as compose resolves it: `${VAR:?message}` from
 * `values` (missing: an error with compose's message), `${VAR:-default}` from `values` or the default, `$$`
 * a literal `$`; entries that come out empty are left out (the server reads an empty variable as unset).
 */
export function composeEnvironment(service: string, values: Record<string, string>): Record<string, string> {
  const compose = parse(readFileSync(new URL('docker-compose.yml', DEPLOY_DIR), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(compose.services[service]?.environment ?? {})) {
    const value = String(raw).replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}/g,
      (m, name: string | undefined, op: string | undefined, rest: string | undefined) => {
        if (m === '$$') return '$';
        const v = values[name!];
        if (op === ':?' && !v) throw new Error(`required variable ${name} is missing a value: ${rest}`);
        return v || (op === ':-' ? rest! : '');
      },
    );
    if (value !== '') out[key] = value;
  }
  return out;
}

/**
 * A client of the plugin with a role of its own, made through the admin the way the server makes its own
 * (the admin itself may receive everything but publish nothing but control messages).
 */
export async function createBrokerClient(
  broker: Broker,
  username: string,
  password: string,
  acls: { acltype: string; topic: string }[],
): Promise<void> {
  const admin = await connectMqtt(`mqtt://127.0.0.1:${broker.tcpPort}`, DYNSEC_ADMIN);
  try {
    await admin.subscribeAsync('$CONTROL/dynamic-security/v1/response');
    const answer = new Promise<string>((resolve) => admin.once('message', (_t, p) => resolve(p.toString())));
    const rolename = `test-${username}`;
    await admin.publishAsync(
      '$CONTROL/dynamic-security/v1',
      JSON.stringify({
        commands: [
          { command: 'createRole', rolename, acls: acls.map((a) => ({ ...a, allow: true })) },
          { command: 'createClient', username, password, roles: [{ rolename }] },
        ],
      }),
    );
    const { responses } = JSON.parse(await answer) as { responses: { command: string; error?: string }[] };
    for (const r of responses) if (r.error) throw new Error(`${r.command}: ${r.error}`);
  } finally {
    await admin.endAsync();
  }
}
