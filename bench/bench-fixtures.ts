/** What several benchmarks share: a data dir initialised in a throwaway process, and sensor history rows. */
import { fork } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TelemetryPoint } from '@tonypi/contracts';
import { type RunningServer, startServer } from '../packages/server/src/app';
import type { Config } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';

/** The admin password every benchmark's server is given (loopbackEnv). */
export const BENCH_PASSWORD = 'benchmark-password';

/**
 * Measure a server as it runs in production: on a data dir that is already initialised. The first start
 * (PGlite's initdb or its template) runs in a throwaway process, `benchFile --prepare dataDir`, so its memory
 * does not count; each benchmark answers `--prepare` by starting and stopping a server on that dir.
 */
export async function prepareInChild(benchFile: string, dataDir: string): Promise<void> {
  const child = fork(benchFile, ['--prepare', dataDir], { execArgv: ['--import', 'tsx'] });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`preparing the data dir failed (${code})`);
}

/**
 * The server a benchmark measures, on a data dir prepared by a throwaway first start; or, when this process
 * is that throwaway start (`--prepare dir`), starts and stops a server there and resolves undefined.
 */
export async function startPreparedServer(
  benchFile: string,
  prepareDir: string | undefined,
  configOf: (dataDir: string) => Readonly<Config>,
): Promise<{ server: RunningServer; dataDir: string; config: Readonly<Config> } | undefined> {
  if (prepareDir) {
    const server = await startServer(configOf(prepareDir), { logger: createLogger('warn') });
    await server.stop();
    return undefined;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), `tonypi-${path.basename(benchFile, '.ts')}-`));
  await prepareInChild(benchFile, dataDir);
  const config = configOf(dataDir);
  const server = await startServer(config, { logger: createLogger(config.logLevel) });
  return { server, dataDir, config };
}

/** The admin's session token on a benchmark's server. */
export async function benchLogin(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: BENCH_PASSWORD }),
  });
  return ((await login.json()) as { access_token: string }).access_token;
}

/** The `i`-th row of a smooth 12-field `sensors` history (what a walking robot's IMU and sensors send). */
export function sensorHistoryRow(robot_id: string, ts: number, i: number): TelemetryPoint {
  const s = Math.sin(i / 600);
  return {
    measurement: 'sensors',
    robot_id,
    ts,
    fields: {
      accel_x_ms2: s,
      accel_y_ms2: s / 2,
      accel_z_ms2: 9.8 + s / 10,
      gyro_x_dps: s * 3,
      gyro_y_dps: s * 2,
      gyro_z_dps: s,
      roll_deg: s * 5,
      pitch_deg: s * 4,
      yaw_deg: 180 + s * 90,
      ultrasonic_distance_cm: 50 + s * 20,
      light_level_percent: 60 + s * 10,
      light_dark: s > 0.9 ? 1 : 0,
    },
  };
}

/**
 * Registers robots through `POST /api/v1/robots` (a few at a time) and returns each one's MQTT secret. The ids
 * are `${prefix}001` … as the load generator numbers them.
 */
export async function registerRobots(
  url: string,
  token: string,
  ids: readonly string[],
  parallel = 8,
): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const robot_id = ids[next++]!;
      const res = await fetch(`${url}/api/v1/robots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ robot_id }),
      });
      if (res.status !== 201 && res.status !== 200) {
        throw new Error(`registering ${robot_id}: ${res.status} ${await res.text()}`);
      }
      secrets[robot_id] = ((await res.json()) as { mqtt: { password: string } }).mqtt.password;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return secrets;
}

/** bench_001 … the ids the load generator's robots use. */
export function benchRobotIds(count: number, prefix = 'bench_'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}`);
}
