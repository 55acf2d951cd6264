import type { AlertView, Robot } from '../api/types';

/** A robot as GET /robots lists it; everything not given has a plain default. */
export function robotFixture(robot_id: string, over: Partial<Robot> = {}): Robot {
  return {
    robot_id,
    name: null,
    description: null,
    status: 'online',
    status_reason: null,
    registration: 'active',
    protocol: 'canonical',
    ip_address: '10.0.0.7',
    camera_url: null,
    location: null,
    last_seen: new Date().toISOString(),
    first_seen: new Date(Date.now() - 86_400_000).toISOString(),
    created_at: new Date(Date.now() - 86_400_000).toISOString(),
    is_active: true,
    deleted_at: null,
    tags: [],
    has_credentials: true,
    anonymous: false,
    thresholds: { battery_low: null, battery_critical: null, temp_warning: null, temp_critical: null },
    latest: {
      measurements: {
        battery: { ts: new Date().toISOString(), fields: { percent: 80 } },
        system: { ts: new Date().toISOString(), fields: { cpu_percent: 20, cpu_temperature_c: 45 } },
      },
      servos: {},
    },
    ...over,
  };
}

export function alertFixture(id: number, over: Partial<AlertView> = {}): AlertView {
  const now = new Date().toISOString();
  return {
    id,
    robot_id: 'r1',
    alert_type: 'threshold',
    severity: 'warning',
    state: 'open',
    title: `CPU busy ${id}`,
    message: 'cpu_percent 93 above 90',
    rule_id: 7,
    source: 'cpu',
    value: 93,
    threshold: 90,
    muted: false,
    acknowledged_by: null,
    acknowledged_at: null,
    acknowledge_note: null,
    resolved_by: null,
    resolved_at: null,
    resolve_note: null,
    created_at: now,
    updated_at: now,
    details: null,
    ...over,
  };
}
