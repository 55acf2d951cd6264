import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './openssh';
import { waitFor } from './test-server';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const MOSQUITTO_CTRL = '/usr/bin/mosquitto_ctrl';
/** Debian's path for the plugin (`dpkg -L mosquitto | grep dynamic`). */
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** Debian's Mosquitto 2.0 on 127.0.0.1, a free port, a temp dir, dynamic security, no anonymous, persistence. */
export interface Mosquitto {
  url: string;
  port: number;
  admin: { username: string; password: string };
  /** Stops it by its pid (it saves its sessions to disk) and starts it again on the same port and files. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function mosquittoMissing(): string | undefined {
  for (const file of [MOSQUITTO, MOSQUITTO_CTRL, DYNSEC_PLUGIN]) {
    if (!existsSync(file)) return `${file} is missing: apt-get install -y mosquitto (.ci/run does)`;
  }
  return undefined;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export async function startMosquitto(): Promise<Mosquitto> {
  const missing = mosquittoMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-mosquitto-'));
  const port = await freePort();
  const admin = { username: 'dynsec-admin', password: `admin-${Math.random().toString(36).slice(2)}` };
  const dynsecFile = path.join(dir, 'dynamic-security.json');
  // The one-time set-up an operator runs (reference §4.4): the plugin's file with its admin client and role.
  execFileSync(MOSQUITTO_CTRL, ['dynsec', 'init', dynsecFile, admin.username, admin.password], {
    stdio: 'ignore',
  });
  const confFile = path.join(dir, 'mosquitto.conf');
  await writeFile(
    confFile,
    [
      // As root, Mosquitto would switch to user `mosquitto`, who cannot read this temp dir.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      'allow_anonymous false',
      `listener ${port} 127.0.0.1`,
      'set_tcp_nodelay true',
      'persistence true',
      `persistence_location ${dir}/`,
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsecFile}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(MOSQUITTO, ['-c', confFile], { stdio: 'ignore' });
    child = proc;
    await waitFor(
      async () => proc.exitCode === null && (await portOpen(port)),
      10_000,
      'mosquitto listening',
    );
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid, 'SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    admin,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
