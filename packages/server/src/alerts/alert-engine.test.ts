import type { DecodedMessage, TelemetryPoint } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { AlertEngine, type AlertWrite } from './alert-engine';
import type { RuleRow, RuleSpec } from './alert-rules';
import { RuleTable } from './rule-table';
import { SilenceTable } from './silence-table';

/** The engine with a fake clock, a recording sink, and the given rules. */
function harness(rules: Array<Partial<RuleSpec> & { id: number }>, opts: { resolveAfterMs?: number } = {}) {
  let now = 1_000_000;
  const writes: AlertWrite[] = [];
  let table = new RuleTable(rules.map(row));
  let silences = new SilenceTable([]);
  const engine = new AlertEngine({
    sink: { write: (op) => writes.push(op) },
    rules: () => table,
    silences: () => silences,
    resolveAfterMs: opts.resolveAfterMs ?? 30_000,
    updateIntervalMs: 5000,
    now: () => now,
  });
  return {
    engine,
    writes,
    advance(ms: number) {
      now += ms;
    },
    get now() {
      return now;
    },
    setRules(next: Array<Partial<RuleSpec> & { id: number }>) {
      table = new RuleTable(next.map(row));
      engine.rulesChanged();
    },
    silence(s: ConstructorParameters<typeof SilenceTable>[0]) {
      silences = new SilenceTable(s);
    },
    /** One message of one point at the current time. */
    send(
      robot_id: string,
      measurement: TelemetryPoint['measurement'],
      fields: Record<string, number>,
      tags?: Record<string, string>,
    ) {
      const msg: DecodedMessage = {
        robot_id,
        channel: measurement === 'servos' ? 'servos' : 'system',
        layout: 'canonical',
        ts: now,
        received_at: now,
        skewed: false,
        points: [{ measurement, robot_id, ts: now, fields, ...(tags ? { tags } : {}) }],
      };
      engine.observe(msg);
    },
    /** The kinds of the writes so far, with the severity of upserts. */
    kinds() {
      return writes.map((w) => (w.kind === 'upsert' ? `upsert:${w.alert.severity}` : w.kind));
    },
    /** The same without the value refreshes. */
    changes() {
      return this.kinds().filter((k) => k !== 'update');
    },
  };
}

function row(r: Partial<RuleSpec> & { id: number }): RuleRow {
  return {
    robot_id: null,
    name: 'CPU usage',
    measurement: 'system',
    field: 'cpu_percent',
    tag_filter: {},
    direction: 'above',
    warning_level: 70,
    critical_level: 90,
    clear_level: 65,
    sustained_s: 0,
    enabled: true,
    is_default: false,
    created_at: new Date(0),
    updated_at: new Date(0),
    updated_by: null,
    ...r,
  };
}

describe('the alert engine: thresholds', () => {
  it('raises once on the first offending value and stays quiet while it lasts', () => {
    const h = harness([{ id: 1 }]);
    h.send('r1', 'system', { cpu_percent: 50 });
    expect(h.writes).toEqual([]);
    h.send('r1', 'system', { cpu_percent: 75 });
    for (let i = 0; i < 10; i++) {
      h.advance(100);
      h.send('r1', 'system', { cpu_percent: 76 });
    }
    expect(h.kinds()).toEqual(['upsert:warning']);
    const raised = h.writes[0] as Extract<AlertWrite, { kind: 'upsert' }>;
    expect(raised.key).toEqual({ robot_id: 'r1', dedup_key: 'rule:1', source: 'cpu_percent' });
    expect(raised.alert).toMatchObject({
      rule_id: 1,
      value: 75,
      threshold: 70,
      muted: false,
      alert_type: 'threshold',
    });
  });

  it('does not flap around the warning level: hysteresis keeps the alert open until the clear level is passed', () => {
    const h = harness([{ id: 1 }], { resolveAfterMs: 0 });
    for (const v of [71, 69, 71, 68, 72, 66, 70.5]) {
      h.send('r1', 'system', { cpu_percent: v });
      h.advance(1000);
    }
    expect(h.changes()).toEqual(['upsert:warning']);
    h.send('r1', 'system', { cpu_percent: 64 });
    expect(h.changes()).toEqual(['upsert:warning', 'resolve']);
  });

  it('raises only after the value stayed bad for sustained_s; a dip back resets the timer', () => {
    const h = harness([{ id: 1, sustained_s: 10 }]);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.advance(9000);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.advance(500);
    h.send('r1', 'system', { cpu_percent: 50 });
    h.advance(500);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.advance(9999);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.writes).toEqual([]);
    h.advance(1);
    h.send('r1', 'system', { cpu_percent: 81 });
    expect(h.kinds()).toEqual(['upsert:warning']);
  });

  it('escalates warning → critical in place (same key), once', () => {
    const h = harness([{ id: 1 }]);
    h.send('r1', 'system', { cpu_percent: 75 });
    h.advance(100);
    h.send('r1', 'system', { cpu_percent: 95 });
    h.advance(100);
    h.send('r1', 'system', { cpu_percent: 96 });
    expect(h.kinds()).toEqual(['upsert:warning', 'upsert:critical']);
    const [first, second] = h.writes as Array<Extract<AlertWrite, { kind: 'upsert' }>>;
    expect(second!.key).toEqual(first!.key);
    expect(second!.alert.threshold).toBe(90);
    // Back to the warning band: still one alert, still critical (severity only rises while open).
    h.advance(100);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.kinds()).toEqual(['upsert:warning', 'upsert:critical']);
  });

  it('writes a changing value at most every 5 s', () => {
    const h = harness([{ id: 1 }]);
    for (let i = 0; i < 100; i++) {
      h.send('r1', 'system', { cpu_percent: 75 + (i % 5) });
      h.advance(100);
    }
    // 10 s of 10 Hz: the raise, then an update at 5 s and at 10 s.
    expect(h.kinds()).toEqual(['upsert:warning', 'update']);
    h.advance(100);
    h.send('r1', 'system', { cpu_percent: 77 });
    expect(h.kinds()).toEqual(['upsert:warning', 'update', 'update']);
  });

  it('auto-resolves after the value stayed on the good side for resolveAfter, on a sample or on the tick', () => {
    const h = harness([{ id: 1 }], { resolveAfterMs: 30_000 });
    h.send('r1', 'system', { cpu_percent: 75 });
    h.advance(1000);
    h.send('r1', 'system', { cpu_percent: 60 });
    h.advance(29_000);
    h.engine.tick();
    h.send('r1', 'system', { cpu_percent: 61 });
    expect(h.changes()).toEqual(['upsert:warning']);
    // A bad value within the window restarts it.
    h.send('r1', 'system', { cpu_percent: 67 });
    h.advance(1000);
    h.send('r1', 'system', { cpu_percent: 60 });
    h.advance(29_999);
    h.engine.tick();
    expect(h.changes()).toEqual(['upsert:warning']);
    h.advance(1);
    h.engine.tick();
    expect(h.changes()).toEqual(['upsert:warning', 'resolve']);
    // After it resolved, a new offence is a new alert.
    h.send('r1', 'system', { cpu_percent: 72 });
    expect(h.changes()).toEqual(['upsert:warning', 'resolve', 'upsert:warning']);
  });

  it('fires "below" rules on low values (battery) and keeps servos apart by source', () => {
    const h = harness([
      {
        id: 1,
        measurement: 'battery',
        field: 'percent',
        direction: 'below',
        warning_level: 20,
        critical_level: 10,
        clear_level: 25,
      },
      {
        id: 2,
        measurement: 'servos',
        field: 'temperature_c',
        warning_level: 60,
        critical_level: 75,
        clear_level: 55,
      },
    ]);
    h.send('r1', 'battery', { percent: 30 });
    h.send('r1', 'battery', { percent: 9 });
    h.send('r1', 'servos', { temperature_c: 62 }, { servo_id: '3' });
    h.send('r1', 'servos', { temperature_c: 61 }, { servo_id: '4' });
    h.send('r1', 'servos', { temperature_c: 40 }, { servo_id: '5' });
    const keys = h.writes.map(
      (w) => `${w.key.dedup_key}/${w.key.source}/${w.kind === 'upsert' ? w.alert.severity : ''}`,
    );
    expect(keys).toEqual(['rule:1/percent/critical', 'rule:2/servo:3/warning', 'rule:2/servo:4/warning']);
  });

  it('finds the rule of each field when a measurement has many rules (most for fields the message lacks)', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({
      id: i + 1,
      field: i === 0 ? 'cpu_percent' : i === 1 ? 'memory_percent' : `extra_${i}`,
    }));
    const h = harness(many);
    h.send('r1', 'system', { cpu_percent: 10, memory_percent: 80, uptime_s: 5 });
    expect(h.writes.map((w) => w.key.dedup_key)).toEqual(['rule:2']);
  });

  it('a disabled robot rule disables the fleet rule for that robot: no fallback, other robots unaffected', () => {
    const h = harness([{ id: 1 }, { id: 2, robot_id: 'quiet', enabled: false }]);
    h.send('quiet', 'system', { cpu_percent: 99 });
    h.send('loud', 'system', { cpu_percent: 99 });
    expect(h.writes.map((w) => w.key.robot_id)).toEqual(['loud']);
  });

  it("uses the robot's own levels where it overrides, and the most specific tag filter for a series", () => {
    const h = harness([
      {
        id: 1,
        measurement: 'servos',
        field: 'temperature_c',
        warning_level: 60,
        critical_level: 75,
        clear_level: 55,
      },
      {
        id: 2,
        robot_id: 'r1',
        measurement: 'servos',
        field: 'temperature_c',
        tag_filter: { servo_id: '3' },
        warning_level: 70,
        critical_level: 85,
        clear_level: 65,
      },
    ]);
    h.send('r1', 'servos', { temperature_c: 65 }, { servo_id: '3' });
    expect(h.writes).toEqual([]);
    h.send('r1', 'servos', { temperature_c: 65 }, { servo_id: '2' });
    h.send('r2', 'servos', { temperature_c: 65 }, { servo_id: '3' });
    h.send('r1', 'servos', { temperature_c: 71 }, { servo_id: '3' });
    expect(h.writes.map((w) => `${w.key.robot_id}/${w.key.dedup_key}/${w.key.source}`)).toEqual([
      'r1/rule:1/servo:2',
      'r2/rule:1/servo:3',
      'r1/rule:2/servo:3',
    ]);
  });

  it('resolves the open alerts of a rule that is disabled or deleted', () => {
    const h = harness([{ id: 1 }]);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.setRules([{ id: 1, enabled: false }]);
    expect(h.kinds()).toEqual(['upsert:warning', 'resolve']);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.kinds()).toEqual(['upsert:warning', 'resolve']);
  });

  it('forgets an alert a person resolved: a value still bad raises a fresh one after its sustained-for', () => {
    const h = harness([{ id: 1, sustained_s: 5 }]);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.advance(5000);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.kinds()).toEqual(['upsert:warning']);
    h.engine.forget({ robot_id: 'r1', dedup_key: 'rule:1', source: 'cpu_percent' });
    h.send('r1', 'system', { cpu_percent: 80 });
    h.advance(4999);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.kinds()).toEqual(['upsert:warning']);
    h.advance(1);
    h.send('r1', 'system', { cpu_percent: 80 });
    expect(h.kinds()).toEqual(['upsert:warning', 'upsert:warning']);
  });

  it('marks an alert raised during a silence of its robot, its rule or the fleet as muted', () => {
    const h = harness([{ id: 1 }, { id: 2, field: 'memory_percent' }]);
    h.silence([{ id: 1, robot_id: 'r1', rule_id: 1, starts_at: h.now - 1, ends_at: h.now + 60_000 }]);
    h.send('r1', 'system', { cpu_percent: 80, memory_percent: 80 });
    h.send('r2', 'system', { cpu_percent: 80 });
    const muted = (h.writes as Array<Extract<AlertWrite, { kind: 'upsert' }>>).map(
      (w) => `${w.key.robot_id}/${w.key.dedup_key}:${w.alert.muted}`,
    );
    expect(muted).toEqual(['r1/rule:1:true', 'r1/rule:2:false', 'r2/rule:1:false']);
  });
});

describe('the alert engine: offline, emergency stop, robot faults', () => {
  it('raises robot_offline when a robot goes offline and resolves it when it is back', () => {
    const h = harness([]);
    h.engine.status({ robot_id: 'r1', status: 'offline', ts: h.now, reason: 'no message for 30 s' });
    h.engine.status({ robot_id: 'r1', status: 'offline', ts: h.now });
    h.engine.status({ robot_id: 'r1', status: 'online', ts: h.now });
    h.engine.status({ robot_id: 'r1', status: 'online', ts: h.now });
    expect(h.kinds()).toEqual(['upsert:warning', 'resolve']);
    expect(h.writes[0]!.key).toEqual({ robot_id: 'r1', dedup_key: 'robot_offline', source: null });
  });

  it('does not raise robot_offline for a robot an admin deleted, and resolves what it had open', () => {
    const h = harness([{ id: 1 }]);
    h.engine.status({ robot_id: 'r2', status: 'offline', ts: h.now, reason: 'robot deleted' });
    expect(h.writes).toEqual([]);
    h.send('r1', 'system', { cpu_percent: 80 });
    h.engine.log({ robot_id: 'r1', ts: h.now, level: 'error', message: 'fault' });
    h.engine.status({ robot_id: 'r1', status: 'offline', ts: h.now, reason: 'robot deleted' });
    expect(h.writes.map((w) => `${w.kind}:${w.key.dedup_key}`)).toEqual([
      'upsert:rule:1',
      'upsert:robot_error',
      'resolve:rule:1',
      'resolve:robot_error',
    ]);
  });

  it('raises a critical emergency_stop alert, kept while offline, resolved when the robot leaves the status', () => {
    const h = harness([]);
    h.engine.status({ robot_id: 'r1', status: 'emergency_stopped', ts: h.now, reason: 'operator' });
    h.engine.status({ robot_id: 'r1', status: 'offline', ts: h.now });
    h.engine.status({ robot_id: 'r1', status: 'emergency_stopped', ts: h.now });
    h.engine.status({ robot_id: 'r1', status: 'online', ts: h.now });
    expect(h.writes.map((w) => `${w.kind}:${w.key.dedup_key}`)).toEqual([
      'upsert:emergency_stop',
      'upsert:robot_offline',
      'resolve:robot_offline',
      'resolve:emergency_stop',
    ]);
    expect((h.writes[0] as Extract<AlertWrite, { kind: 'upsert' }>).alert.severity).toBe('critical');
  });

  it('keeps one robot_error per robot, counting errors and writing the count at most every 5 s', () => {
    const h = harness([]);
    for (let i = 0; i < 20; i++) {
      h.engine.log({ robot_id: 'r1', ts: h.now, level: 'error', message: `fault ${i}` });
      h.advance(100);
    }
    h.engine.log({ robot_id: 'r1', ts: h.now, level: 'info', message: 'fine' });
    expect(h.kinds()).toEqual(['upsert:warning']);
    h.advance(5000);
    h.engine.tick();
    const last = h.writes.at(-1) as Extract<AlertWrite, { kind: 'upsert' }>;
    expect(h.kinds()).toEqual(['upsert:warning', 'upsert:warning']);
    expect(last.alert).toMatchObject({ value: 20, details: { count: 20 } });
    h.engine.log({ robot_id: 'r1', ts: h.now, level: 'critical', message: 'servo bus down' });
    expect(h.kinds()).toEqual(['upsert:warning', 'upsert:warning', 'upsert:critical']);
  });

  it('raises job_failed for a failed job only', () => {
    const h = harness([]);
    h.engine.job({ robot_id: 'r1', ts: h.now, data: { status: 'completed', job_id: 'j1' } });
    h.engine.job({
      robot_id: 'r1',
      ts: h.now,
      data: { status: 'failed', job_id: 'j2', task_name: 'Pick', reason: 'battery too low' },
    });
    expect(h.kinds()).toEqual(['upsert:warning']);
    expect((h.writes[0] as Extract<AlertWrite, { kind: 'upsert' }>).alert.message).toBe(
      '"Pick" (j2) failed: battery too low',
    );
  });
});
