import type { AlertView, ServerEvents } from '@tonypi/contracts';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * The alert rules and silences API and the alert engine end to end: robots publish over MQTT, alerts appear in
 * the database and as `alert.changed` events.
 */

let t: TestServer;
const changes: ServerEvents['alert.changed'][] = [];
const robots: MqttClient[] = [];

beforeAll(async () => {
  t = await startTestServer({ OFFLINE_AFTER_S: '1', ALERT_RESOLVE_AFTER_S: '1' });
  t.server.service('events').subscribe('alert.changed', (c) => changes.push(c));
});
afterAll(async () => {
  for (const r of robots) r.end(true);
  await t?.close();
});

async function robot(id: string): Promise<MqttClient> {
  const c = await connectMqtt(t.mqttUrl, { clientId: id });
  robots.push(c);
  return c;
}

function publish(c: MqttClient, topic: string, payload: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) =>
    c.publish(topic, JSON.stringify({ ts: Date.now(), ...payload }), { qos: 1 }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** Waits for the robot to be known (its first message taken in). */
async function known(id: string): Promise<void> {
  await waitFor(async () => (await t.api(`/api/v1/robots/${id}`)).status === 200, 5000, `robot ${id} known`);
}

const changeOf = (robot_id: string, change: string, pred: (a: AlertView) => boolean = () => true) =>
  waitFor(
    () => changes.find((c) => c.alert.robot_id === robot_id && c.change === change && pred(c.alert)),
    8000,
    `${change} alert of ${robot_id}`,
  );

async function openAlerts(robot_id: string) {
  const { rows } = await t.server.service('db').query<{
    id: number;
    alert_type: string;
    severity: string;
    state: string;
    muted: boolean;
    source: string;
  }>(
    `SELECT id, alert_type, severity, state, muted, source FROM alerts WHERE robot_id = $1 AND state <> 'resolved'
       ORDER BY id`,
    [robot_id],
  );
  return rows;
}

async function rules(query = '') {
  const res = await t.api(`/api/v1/alert-rules${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Array<Record<string, unknown>>; total: number };
}

describe('alert rules: the defaults', () => {
  it('come as global rules at start: CPU, memory, temperature, battery, servo temperature, servo voltage', async () => {
    const { items } = await rules();
    const defaults = items
      .filter((r) => r.is_default)
      .map((r) => `${r.measurement}.${r.field} ${r.direction} ${r.warning_level}/${r.critical_level}`);
    expect(defaults.sort()).toEqual(
      [
        'system.cpu_percent above 70/90',
        'system.memory_percent above 75/90',
        'system.cpu_temperature_c above 70/80',
        'battery.percent below 20/10',
        'servos.temperature_c above 60/75',
        'servos.voltage_v below 5.9/5.6',
      ].sort(),
    );
    expect(items.every((r) => r.robot_id === null)).toBe(true);
    const health = await (await t.api('/api/v1/health', { anonymous: true })).json();
    expect(health.alert_engine).toMatchObject({ rules: 6, write_errors: 0, dropped: 0 });
  });

  it('cannot be deleted (409: disable it), and reset-defaults sets a changed one back', async () => {
    const cpu = (await rules('?measurement=system')).items.find((r) => r.field === 'cpu_percent')!;
    const del = await t.api(`/api/v1/alert-rules/${cpu.id}`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    const patched = await t.api(`/api/v1/alert-rules/${cpu.id}`, {
      method: 'PATCH',
      json: { warning_level: 80, critical_level: 95, clear_level: 75, enabled: false },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ warning_level: 80, enabled: false, updated_by: 'admin' });
    const reset = await t.api('/api/v1/alert-rules/reset-defaults', { method: 'POST' });
    expect(reset.status).toBe(200);
    expect((await reset.json()).items).toContainEqual(
      expect.objectContaining({ id: cpu.id, warning_level: 70, critical_level: 90, enabled: true }),
    );
    const audit = await (await t.api('/api/v1/audit?action=alert_rule.')).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['alert_rule.update', 'alert_rule.reset_defaults']),
    );
  });
});

describe('alert rules: bad input', () => {
  const base = { measurement: 'system', field: 'disk_percent', direction: 'above', warning_level: 80 };
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    [
      'inverted levels for "above"',
      { ...base, warning_level: 90, critical_level: 80 },
      ['body.critical_level'],
    ],
    [
      'inverted levels for "below"',
      { ...base, direction: 'below', warning_level: 10, critical_level: 20 },
      ['body.critical_level'],
    ],
    ['a clear level on the bad side', { ...base, clear_level: 85 }, ['body.clear_level']],
    ['no level at all', { ...base, warning_level: null }, ['body.warning_level']],
    ['an unknown measurement', { ...base, measurement: 'weather' }, ['body.measurement']],
    ['a field that is no identifier', { ...base, field: 'Disk %' }, ['body.field']],
    [
      'a tag the measurement does not have',
      { ...base, tag_filter: { servo_id: '1' } },
      ['body.tag_filter.servo_id'],
    ],
    ['an unknown key', { ...base, threshold: 3 }, ['body']],
    [
      'several problems at once',
      { ...base, direction: 'sideways', sustained_s: -1 },
      ['body.direction', 'body.sustained_s'],
    ],
  ];
  for (const [what, body, fields] of cases) {
    it(`refuses ${what} with 400 validation_error naming ${fields.join(', ')}`, async () => {
      const res = await t.api('/api/v1/alert-rules', { method: 'POST', json: body });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_error');
      expect(error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([...fields].sort());
    });
  }

  it('refuses a second rule of the same scope (409), an unknown robot (404) and an unknown id (404)', async () => {
    const first = await t.api('/api/v1/alert-rules', { method: 'POST', json: base });
    expect(first.status).toBe(201);
    const again = await t.api('/api/v1/alert-rules', {
      method: 'POST',
      json: { ...base, warning_level: 70 },
    });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('conflict');
    const stranger = await t.api('/api/v1/alert-rules', {
      method: 'POST',
      json: { ...base, robot_id: 'nobody' },
    });
    expect(stranger.status).toBe(404);
    expect((await stranger.json()).error.code).toBe('robot_not_found');
    for (const [method, json] of [
      ['PATCH', { enabled: false }],
      ['DELETE', undefined],
    ] as const) {
      const res = await t.api('/api/v1/alert-rules/999999', { method, json });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('alert_rule_not_found');
    }
    const patch = await t.api(`/api/v1/alert-rules/${(await first.json()).id}`, {
      method: 'PATCH',
      json: { clear_level: 90 },
    });
    expect(patch.status).toBe(400);
    expect((await patch.json()).error.details.fields).toEqual([
      expect.objectContaining({ field: 'body.clear_level' }),
    ]);
  });
});

describe('the alert engine end to end', () => {
  it('raises a threshold alert for a hot servo (its own source), escalates it in place and resolves it', async () => {
    const r = await robot('alert_servo');
    const servo = (temperature_c: number) => ({ servos: [{ id: 3, temperature_c, voltage_v: 7.4 }] });
    await publish(r, 'tonypi/alert_servo/servos', servo(65));
    const raised = await changeOf('alert_servo', 'raised');
    expect(raised.alert).toMatchObject({
      alert_type: 'threshold',
      severity: 'warning',
      source: 'servo:3',
      value: 65,
    });
    await publish(r, 'tonypi/alert_servo/servos', servo(80));
    const escalated = await changeOf('alert_servo', 'escalated');
    expect(escalated.alert).toMatchObject({ id: raised.alert.id, severity: 'critical', threshold: 75 });
    expect(await openAlerts('alert_servo')).toHaveLength(1);
    await publish(r, 'tonypi/alert_servo/servos', servo(40));
    const resolved = await changeOf('alert_servo', 'resolved');
    expect(resolved.alert).toMatchObject({ id: raised.alert.id, state: 'resolved', resolved_by: null });
  });

  it("a disabled robot rule disables the fleet's rule for that robot (no fallback to the default)", async () => {
    const quiet = await robot('alert_quiet');
    const loud = await robot('alert_loud');
    await publish(quiet, 'tonypi/alert_quiet/system', { memory_percent: 10 });
    await known('alert_quiet');
    const res = await t.api('/api/v1/alert-rules', {
      method: 'POST',
      json: {
        robot_id: 'alert_quiet',
        measurement: 'system',
        field: 'memory_percent',
        direction: 'above',
        warning_level: 75,
        enabled: false,
      },
    });
    expect(res.status).toBe(201);
    const listed = await rules('?robot_id=alert_quiet&measurement=system');
    expect(listed.items).toContainEqual(
      expect.objectContaining({ robot_id: null, field: 'memory_percent', overridden: true }),
    );
    // The same message breaks the temperature rule too: once that alert is there, the message was evaluated.
    await publish(quiet, 'tonypi/alert_quiet/system', { memory_percent: 99, cpu_temperature_c: 75 });
    await publish(loud, 'tonypi/alert_loud/system', { memory_percent: 99 });
    await changeOf('alert_loud', 'raised', (a) => a.source === 'memory_percent');
    await changeOf('alert_quiet', 'raised', (a) => a.source === 'cpu_temperature_c');
    expect((await openAlerts('alert_quiet')).map((a) => a.source)).toEqual(['cpu_temperature_c']);
  });

  it('raises robot_offline after OFFLINE_AFTER_S of silence and resolves it when the robot is back', async () => {
    const r = await robot('alert_gone');
    await publish(r, 'tonypi/alert_gone/system', { cpu_percent: 10 });
    const offline = await changeOf('alert_gone', 'raised', (a) => a.alert_type === 'robot_offline');
    expect(offline.alert.severity).toBe('warning');
    await publish(r, 'tonypi/alert_gone/system', { cpu_percent: 10 });
    const back = await changeOf('alert_gone', 'resolved', (a) => a.alert_type === 'robot_offline');
    expect(back.alert.id).toBe(offline.alert.id);
  });

  it('raises a critical emergency_stop alert while the robot reports emergency_stopped', async () => {
    const r = await robot('alert_estop');
    await publish(r, 'tonypi/alert_estop/status', {
      status: 'emergency_stopped',
      emergency_reason: 'bumped',
    });
    const stop = await changeOf('alert_estop', 'raised', (a) => a.alert_type === 'emergency_stop');
    expect(stop.alert.severity).toBe('critical');
    await publish(r, 'tonypi/alert_estop/status', { status: 'online' });
    await changeOf('alert_estop', 'resolved', (a) => a.alert_type === 'emergency_stop');
  });

  it('raises robot_error for error logs and job_failed for a failed job', async () => {
    const r = await robot('alert_faults');
    await publish(r, 'tonypi/alert_faults/log', { level: 'error', message: 'camera lost', source: 'vision' });
    await publish(r, 'tonypi/alert_faults/job', {
      job_id: 'j-1',
      task_name: 'Pick',
      status: 'failed',
      reason: 'jam',
    });
    const error = await changeOf('alert_faults', 'raised', (a) => a.alert_type === 'robot_error');
    expect(error.alert.message).toBe('camera lost (vision)');
    const job = await changeOf('alert_faults', 'raised', (a) => a.alert_type === 'job_failed');
    expect(job.alert.message).toBe('"Pick" (j-1) failed: jam');
  });

  it('records alerts raised during a silence as muted, and not once the silence is ended', async () => {
    const r = await robot('alert_muted');
    await publish(r, 'tonypi/alert_muted/battery', { percent: 80 });
    await known('alert_muted');
    const bad = [
      { duration_s: 60 },
      { robot_id: 'alert_muted', duration_s: 60, reason: '' },
      { robot_id: 'alert_muted', reason: 'no end' },
      { robot_id: 'alert_muted', reason: 'past', ends_at: '2020-01-01T00:00:00Z' },
    ];
    for (const json of bad) {
      const res = await t.api('/api/v1/alert-silences', { method: 'POST', json });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    const created = await t.api('/api/v1/alert-silences', {
      method: 'POST',
      json: { robot_id: 'alert_muted', duration_s: 600, reason: 'battery swap' },
    });
    expect(created.status).toBe(201);
    const silence = await created.json();
    expect(silence).toMatchObject({ robot_id: 'alert_muted', active: true, created_by: 'admin' });
    await publish(r, 'tonypi/alert_muted/battery', { percent: 15 });
    const raised = await changeOf('alert_muted', 'raised');
    expect(raised.alert.muted).toBe(true);
    expect((await openAlerts('alert_muted'))[0]).toMatchObject({ muted: true });

    const ended = await t.api(`/api/v1/alert-silences/${silence.id}`, { method: 'DELETE' });
    expect(ended.status).toBe(200);
    expect(await ended.json()).toMatchObject({ active: false });
    expect((await t.api(`/api/v1/alert-silences/${silence.id}`, { method: 'DELETE' })).status).toBe(409);
    // Escalation after the silence: the alert is notified from now on.
    await publish(r, 'tonypi/alert_muted/battery', { percent: 5 });
    const escalated = await changeOf('alert_muted', 'escalated');
    expect(escalated.alert).toMatchObject({ severity: 'critical', muted: false });
  });

  it('forgets an alert a person resolves: a value still bad raises a fresh alert', async () => {
    const r = await robot('alert_person');
    await publish(r, 'tonypi/alert_person/system', { cpu_temperature_c: 75 });
    const first = await changeOf('alert_person', 'raised');
    // What the alerts API does on POST /alerts/{id}/resolve (H1b): the row, then the event.
    const { rows } = await t.server.service('db').query<Record<string, unknown>>(
      `UPDATE alerts SET state = 'resolved', resolved = TRUE, resolved_by = 'alice', resolved_at = now()
         WHERE id = $1 RETURNING id`,
      [first.alert.id],
    );
    expect(rows).toHaveLength(1);
    t.server.service('events').publish('alert.changed', {
      change: 'resolved',
      alert: { ...first.alert, state: 'resolved', resolved_by: 'alice' },
    });
    await publish(r, 'tonypi/alert_person/system', { cpu_temperature_c: 76 });
    const second = await changeOf('alert_person', 'raised', (a) => a.id !== first.alert.id);
    expect(second.alert.value).toBe(76);
  });
});
