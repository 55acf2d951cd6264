import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { Robot } from '../../api/types';
import { windowFromParams } from '../../lib/telemetry';
import { useLiveTelemetry } from '../../live/live-context';
import { LiveValue, MetricChart, useRobotRules, WindowPicker } from './monitoring-tab';

const ACCEL = ['accel_x_ms2', 'accel_y_ms2', 'accel_z_ms2'] as const;
const GYRO = ['gyro_x_dps', 'gyro_y_dps', 'gyro_z_dps'] as const;
const ATTITUDE = ['roll_deg', 'pitch_deg', 'yaw_deg'] as const;
const DISTANCE = ['ultrasonic_distance_cm'] as const;
const LIGHT = ['light_level_percent'] as const;

const LABELS: Readonly<Record<string, string>> = {
  accel_x_ms2: 'Accel X',
  accel_y_ms2: 'Accel Y',
  accel_z_ms2: 'Accel Z',
  gyro_x_dps: 'Gyro X',
  gyro_y_dps: 'Gyro Y',
  gyro_z_dps: 'Gyro Z',
  roll_deg: 'Roll',
  pitch_deg: 'Pitch',
  yaw_deg: 'Yaw',
  ultrasonic_distance_cm: 'Distance',
  light_level_percent: 'Light',
};

const CURRENT = [...ATTITUDE, ...ACCEL, ...GYRO, ...DISTANCE, ...LIGHT];

/** IMU, ultrasonic and light sensor: the current values and their history with the live tail. */
export function SensorsTab({ robot }: { robot: Robot }) {
  useLiveTelemetry({ robots: [robot.robot_id] });
  const [params, setParams] = useSearchParams();
  const window = useMemo(() => windowFromParams(params), [params]);
  const rules = useRobotRules(robot.robot_id).data?.items;
  const zoom = (r: { from: number; to: number }) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      next.delete('range');
      next.set('from', String(r.from));
      next.set('to', String(r.to));
      return next;
    });
  const chart = (title: string, fields: readonly string[], yRange?: [number, number]) => (
    <MetricChart
      robot={robot}
      title={title}
      measurement="sensors"
      fields={fields}
      labels={LABELS}
      window={window}
      yRange={yRange}
      onZoom={zoom}
      rules={rules}
    />
  );
  return (
    <div className="space-y-4">
      <section aria-label="Current sensor values">
        <div className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
          {CURRENT.map((f) => (
            <LiveValue key={f} robot={robot} measurement="sensors" field={f} label={LABELS[f]} />
          ))}
          <LiveValue robot={robot} measurement="sensors" field="light_dark" label="Dark (1 = yes)" />
        </div>
      </section>
      <WindowPicker window={window} />
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Drag across a chart to zoom into that span.
      </p>
      <div className="grid gap-4 xl:grid-cols-2">
        {chart('Attitude (roll, pitch, yaw)', ATTITUDE)}
        {chart('Acceleration', ACCEL)}
        {chart('Rotation rate (gyroscope)', GYRO)}
        {chart('Ultrasonic distance', DISTANCE)}
        {chart('Light level', LIGHT, [0, 100])}
      </div>
    </div>
  );
}
