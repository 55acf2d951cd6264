import type { DecodedMessage, ServerEvents } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../core/event-bus';
import type { Database } from '../db/database';
import { openTestPGlite } from '../db/test-databases';
import { createLogger } from '../logger';
import { AlertConfigCache } from './alert-config-cache';
import { AlertEngine } from './alert-engine';
import { AlertRulesRepository } from './alert-rules.repository';
import { AlertWriter } from './alert-writer';
import { RuleTable } from './rule-table';
import { SilenceTable } from './silence-table';

const logger = createLogger('silent');

/** One server's engine on a shared database: its own bus, writer and clock. */
async function engineOn(db: Database, clock: { now: number }) {
  const events = new EventBus({ logger });
  const changes: ServerEvents['alert.changed'][] = [];
  events.subscribe('alert.changed', (c) => changes.push(c));
  const rules = new RuleTable(await new AlertRulesRepository(db).listRules());
  let engine: AlertEngine | undefined;
  const writer = new AlertWriter({ db, events, logger, onGone: (k) => engine?.forget(k) });
  engine = new AlertEngine({
    sink: writer,
    rules: () => rules,
    silences: () => new SilenceTable([]),
    resolveAfterMs: 0,
    now: () => clock.now,
  });
  return { engine, writer, changes };
}

function cpu(robot_id: string, value: number, at: number): DecodedMessage {
  return {
    robot_id,
    channel: 'system',
    layout: 'canonical',
    ts: at,
    received_at: at,
    skewed: false,
    points: [{ measurement: 'system', robot_id, ts: at, fields: { cpu_percent: value } }],
  };
}

async function alertsOf(db: Database) {
  const { rows } = await db.query<{
    id: number;
    severity: string;
    state: string;
    value: number;
    dedup_key: string;
  }>(`SELECT id, severity, state, value, dedup_key FROM alerts ORDER BY id`);
  return rows;
}

describe('the alert writer on the database', () => {
  it('two engines (two servers) seeing the same values write one alert, escalate it in place and resolve it once', async () => {
    const db = await openTestPGlite();
    await new AlertRulesRepository(db).insertRule(
      {
        robot_id: null,
        name: 'CPU',
        measurement: 'system',
        field: 'cpu_percent',
        tag_filter: {},
        direction: 'above',
        warning_level: 70,
        critical_level: 90,
        clear_level: 65,
        sustained_s: 0,
        enabled: true,
      },
      null,
    );
    const clock = { now: Date.now() };
    const a = await engineOn(db, clock);
    const b = await engineOn(db, clock);
    // Both observe every message (each server's plain subscription), interleaved as two event loops would.
    a.engine.observe(cpu('r1', 75, clock.now));
    b.engine.observe(cpu('r1', 75, clock.now));
    await Promise.all([a.writer.idle(), b.writer.idle()]);
    expect(await alertsOf(db)).toMatchObject([{ severity: 'warning', state: 'open', value: 75 }]);
    expect([a.changes[0]?.change, b.changes[0]?.change].sort()).toEqual(['raised', 'updated']);

    clock.now += 1000;
    a.engine.observe(cpu('r1', 96, clock.now));
    b.engine.observe(cpu('r1', 96, clock.now));
    await Promise.all([a.writer.idle(), b.writer.idle()]);
    const rows = await alertsOf(db);
    expect(rows).toMatchObject([{ severity: 'critical', state: 'open', value: 96 }]);
    expect([...a.changes, ...b.changes].filter((c) => c.change === 'escalated')).toHaveLength(1);
    expect(a.changes.at(-1)?.alert.id).toBe(rows[0]!.id);

    a.engine.observe(cpu('r1', 20, clock.now + 1));
    b.engine.observe(cpu('r1', 20, clock.now + 1));
    await Promise.all([a.writer.idle(), b.writer.idle()]);
    expect(await alertsOf(db)).toMatchObject([{ state: 'resolved' }]);
    expect([...a.changes, ...b.changes].filter((c) => c.change === 'resolved')).toHaveLength(1);
  });

  it('stops updating an alert a person resolved (on any server) and raises a fresh one only when due', async () => {
    const db = await openTestPGlite();
    const repo = new AlertRulesRepository(db);
    await repo.insertRule(
      {
        robot_id: null,
        name: 'CPU',
        measurement: 'system',
        field: 'cpu_percent',
        tag_filter: {},
        direction: 'above',
        warning_level: 50,
        critical_level: null,
        clear_level: null,
        sustained_s: 0,
        enabled: true,
      },
      null,
    );
    const clock = { now: Date.now() };
    const a = await engineOn(db, clock);
    a.engine.observe(cpu('r1', 60, clock.now));
    await a.writer.idle();
    // Resolved by a person through another server: this one never hears of it.
    await db.query(`UPDATE alerts SET state = 'resolved', resolved_by = 'alice'`);
    clock.now += 6000;
    a.engine.observe(cpu('r1', 61, clock.now));
    await a.writer.idle();
    expect(await alertsOf(db)).toHaveLength(1);
    // The update found nothing open: the engine forgot it, and the still-bad value raises a new alert.
    a.engine.observe(cpu('r1', 62, clock.now));
    await a.writer.idle();
    expect((await alertsOf(db)).map((r) => r.state)).toEqual(['resolved', 'open']);
  });
});

describe('the alert writer under a burst', () => {
  it("writes a fleet's emergency-stop alerts in one statement, and their resolutions in another", async () => {
    const db = await openTestPGlite();
    const statements: string[] = [];
    const counting: Database = Object.assign(Object.create(db), {
      query: (sql: string, params?: readonly unknown[]) => {
        statements.push(sql.trim().split(/\s+/)[0]!);
        return db.query(sql, params);
      },
    });
    const events = new EventBus({ logger });
    const changes: ServerEvents['alert.changed'][] = [];
    events.subscribe('alert.changed', (c) => changes.push(c));
    const writer = new AlertWriter({ db: counting, events, logger, onGone: () => undefined });
    const engine = new AlertEngine({
      sink: writer,
      rules: () => new RuleTable([]),
      silences: () => new SilenceTable([]),
      resolveAfterMs: 0,
    });
    const ids = Array.from({ length: 100 }, (_, i) => `r${i}`);
    for (const robot_id of ids)
      engine.status({ robot_id, status: 'emergency_stopped', ts: Date.now(), reason: 'x' });
    await writer.idle();
    expect(statements).toEqual(['INSERT']);
    expect(changes.map((c) => c.change)).toEqual(ids.map(() => 'raised'));
    expect(new Set(changes.map((c) => c.alert.robot_id))).toEqual(new Set(ids));

    // Raised again (a second stop) while open: updated in place, not duplicated.
    for (const robot_id of ids.slice(0, 10)) engine.status({ robot_id, status: 'offline', ts: Date.now() });
    for (const robot_id of ids) engine.status({ robot_id, status: 'online', ts: Date.now() });
    await writer.idle();
    expect(statements).toEqual(['INSERT', 'INSERT', 'UPDATE']);
    const { rows } = await db.query<{ alert_type: string; state: string; n: number }>(
      `SELECT alert_type, state, count(*)::int AS n FROM alerts GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { alert_type: 'emergency_stop', state: 'resolved', n: 100 },
      { alert_type: 'robot_offline', state: 'resolved', n: 10 },
    ]);
    expect(changes.filter((c) => c.change === 'resolved')).toHaveLength(110);
  });
});

describe('the rule and silence cache', () => {
  it("reads the tables again on the periodic refresh only when they changed (another server's change)", async () => {
    const db = await openTestPGlite();
    const repo = new AlertRulesRepository(db);
    await repo.insertMissingDefaults();
    const cache = new AlertConfigCache(repo, logger);
    await cache.reload();
    expect(cache.rules.size).toBe(6);
    await cache.refreshIfChanged();
    expect(cache.counters.reloads).toBe(1);

    // Another server disables a rule, adds one and a silence: each shows at the next refresh.
    await db.query(`UPDATE alert_rules SET enabled = FALSE, updated_at = now()
                    WHERE field = 'cpu_percent'`);
    await cache.refreshIfChanged();
    expect(cache.counters.reloads).toBe(2);
    const cpu = (await repo.listRules()).find((r) => r.field === 'cpu_percent')!;
    expect(cache.rules.applies('r1', cpu.id)).toBe(false);
    await db.query(
      `INSERT INTO alert_silences (robot_id, starts_at, ends_at, reason) VALUES ('r1', now(), now() + interval '1 hour', 'x')`,
    );
    await cache.refreshIfChanged();
    expect(cache.silences.mutes('r1', null, Date.now())).toBe(true);
    await db.query(`UPDATE alert_silences SET ends_at = now()`);
    await cache.refreshIfChanged();
    expect(cache.counters.reloads).toBe(4);
  });
});
