/** What several benchmarks share: a data dir initialised in a throwaway process, and sensor history rows. */
import { fork } from 'node:child_process';
import type { TelemetryPoint } from '@tonypi/contracts';

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
