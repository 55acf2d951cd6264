import type { AlertSeverity, DecodedMessage, ServerEvents, TelemetryPoint } from '@tonypi/contracts';
import {
  type CompiledRule,
  entry,
  type FieldRules,
  isClear,
  type RuleTable,
  severityOf,
  tagsMatch,
} from './rule-table';
import type { SilenceTable } from './silence-table';

/** Which open alert a write is about: one unresolved alert per robot + key + source (`uq_alerts_unresolved`). */
export interface AlertKey {
  robot_id: string;
  /** `rule:<id>` for a rule's alerts; the type for the others (`robot_offline`, `emergency_stop`, …). */
  dedup_key: string;
  source: string | null;
}

export interface AlertContent {
  alert_type: string;
  severity: Exclude<AlertSeverity, 'info'>;
  title: string;
  message: string;
  rule_id: number | null;
  value: number | null;
  threshold: number | null;
  muted: boolean;
  details: Record<string, unknown>;
  /** When the condition began (the alert's created_at when this write creates it), epoch ms. */
  at: number;
}

/**
 * What the engine asks the writer to do, in order; the writer runs them off the evaluation path.
 * `upsert` raises, escalates or refreshes (INSERT … ON CONFLICT on the unique index: never a duplicate);
 * `update` refreshes an open alert's value and never creates one (an alert a person resolved elsewhere
 * stays resolved: the writer then calls `forget`); `resolve` closes it.
 */
export type AlertWrite =
  | { kind: 'upsert'; key: AlertKey; alert: AlertContent }
  | { kind: 'update'; key: AlertKey; value: number | null; message: string; details: Record<string, unknown> }
  | { kind: 'resolve'; key: AlertKey; reason: string };

export interface AlertSink {
  write(op: AlertWrite): void;
}

export interface AlertEngineOptions {
  sink: AlertSink;
  rules: () => RuleTable;
  silences: () => SilenceTable;
  /** A value on the good side of the clear level for this long resolves the alert (ALERT_RESOLVE_AFTER_S). */
  resolveAfterMs: number;
  /** An open alert's value is written at most this often (escalations and resolutions at once). */
  updateIntervalMs?: number;
  now?: () => number;
}

type Level = Exclude<AlertSeverity, 'info'>;

/** One robot + rule + source. */
interface RuleState {
  readonly key: AlertKey;
  rule: CompiledRule;
  /** When the value went to the bad side of the entry level (the sustained-for timer). */
  badSince: number;
  /** When it went to the critical side; null when not there. */
  criticalSince: number | null;
  /** Raised: an open alert exists for it. */
  raised: boolean;
  severity: Level;
  value: number;
  lastWrittenAt: number;
  lastWrittenValue: number;
  /** Since when the value has stayed on the good side of the clear level (auto-resolve); null when not. */
  goodSince: number | null;
  lastSampleAt: number;
}

/** An alert no rule raises: one per robot and kind. */
interface EventState {
  readonly key: AlertKey;
  severity: Level;
  count: number;
  message: string;
  /** Written since the last change (a count to write on the next tick). */
  dirty: boolean;
  lastWrittenAt: number;
}

/** Up to this many rules per measurement, each rule's field is looked up in the message; beyond, each field's rule. */
const FEW_RULES = 8;
const RANK: Record<Level, number> = { warning: 1, critical: 2 };
/** A pending condition (bad, not yet sustained) without a sample for this long is dropped. */
const PENDING_STALE_MS = 10 * 60_000;

/**
 * The alert engine's state machine: it evaluates every point against the robot's effective rules (a map
 * lookup and a loop, synchronous, no allocation for a value on the good side), keeps per robot + rule +
 * source the sustained-for timer, the severity and the hysteresis, and hands every database write to the
 * sink. `tick` (about once a second) resolves alerts whose value stayed good and writes coalesced counts.
 */
export class AlertEngine {
  /** robot → rule id → source → state. */
  private readonly states = new Map<string, Map<number, Map<string, RuleState>>>();
  /** robot → kind → state (offline, emergency stop, robot errors, failed jobs). */
  private readonly events = new Map<string, Map<string, EventState>>();
  private readonly now: () => number;
  private readonly updateIntervalMs: number;
  readonly counters = { evaluated: 0, raised: 0, escalated: 0, resolved: 0, forgotten: 0 };

  constructor(private readonly opts: AlertEngineOptions) {
    this.now = opts.now ?? Date.now;
    this.updateIntervalMs = opts.updateIntervalMs ?? 5000;
  }

  /** Every point of a robot message (`robot.message`). */
  observe(msg: DecodedMessage): void {
    const table = this.opts.rules();
    const points = msg.points;
    for (let i = 0; i < points.length; i++) this.point(table, points[i]!, msg.received_at);
  }

  private point(table: RuleTable, p: TelemetryPoint, at: number): void {
    const set = table.for(p.robot_id, p.measurement);
    if (set === undefined) return;
    const robotStates = this.states.get(p.robot_id);
    const fields = p.fields;
    const list = set.list;
    if (list.length <= FEW_RULES) {
      for (let g = 0; g < list.length; g++) {
        const group = list[g]!;
        const v = fields[group.field];
        if (v !== undefined) this.field(group, p, v, robotStates, at);
      }
      return;
    }
    // Many rules (most for fields this message lacks): look up the message's own fields instead.
    const byField = set.byField;
    for (const name in fields) {
      const group = byField.get(name);
      if (group !== undefined) this.field(group, p, fields[name]!, robotStates, at);
    }
  }

  private field(
    group: FieldRules,
    p: TelemetryPoint,
    v: number,
    robotStates: Map<number, Map<string, RuleState>> | undefined,
    at: number,
  ): void {
    // The most specific rule whose tag filter matches decides; a disabled one disables (no fallback).
    let rule: CompiledRule | undefined;
    const candidates = group.candidates;
    for (let c = 0; c < candidates.length; c++) {
      if (tagsMatch(candidates[c]!, p.tags)) {
        rule = candidates[c];
        break;
      }
    }
    if (rule === undefined || !rule.enabled) return;
    this.counters.evaluated++;
    const bySource = robotStates?.get(rule.id);
    const bad = rule.above ? v >= rule.entry : v <= rule.entry;
    if (bySource === undefined && !bad) return;
    const source = sourceOf(p.tags, rule.field);
    const state = bySource?.get(source);
    if (state === undefined && !bad) return;
    this.sample(rule, p.robot_id, source, state, v, at);
  }

  private sample(
    rule: CompiledRule,
    robot_id: string,
    source: string,
    existing: RuleState | undefined,
    v: number,
    at: number,
  ): void {
    const sev = severityOf(rule, v);
    let state = existing;
    if (state === undefined) {
      if (sev === null) return;
      state = {
        key: { robot_id, dedup_key: `rule:${rule.id}`, source },
        rule,
        badSince: at,
        criticalSince: null,
        raised: false,
        severity: sev,
        value: v,
        lastWrittenAt: 0,
        lastWrittenValue: Number.NaN,
        goodSince: null,
        lastSampleAt: at,
      };
      this.put(robot_id, rule.id, source, state);
    }
    state.rule = rule;
    state.value = v;
    state.lastSampleAt = at;
    if (!state.raised) {
      if (sev === null) {
        // Back on the good side before it was sustained: nothing happened.
        this.drop(state);
        return;
      }
      state.criticalSince = sev === 'critical' ? (state.criticalSince ?? at) : null;
      if (at - state.badSince < rule.sustainedMs) return;
      state.severity = this.sustainedSeverity(state, at);
      state.raised = true;
      this.counters.raised++;
      this.writeRule(state, at);
      return;
    }
    if (isClear(rule, v)) {
      state.criticalSince = null;
      state.goodSince ??= at;
      if (at - state.goodSince >= this.opts.resolveAfterMs) this.resolveRule(state, 'value back to normal');
      return;
    }
    // Not clear: between the clear and the entry level the alert stays open (hysteresis).
    state.goodSince = null;
    state.criticalSince = sev === 'critical' ? (state.criticalSince ?? at) : null;
    if (state.severity === 'warning' && this.sustainedSeverity(state, at) === 'critical') {
      state.severity = 'critical';
      this.counters.escalated++;
      this.writeRule(state, at);
      return;
    }
    if (at - state.lastWrittenAt >= this.updateIntervalMs && v !== state.lastWrittenValue) {
      state.lastWrittenAt = at;
      state.lastWrittenValue = v;
      this.opts.sink.write({
        kind: 'update',
        key: state.key,
        value: v,
        message: messageOf(state.rule, state.key, state.severity, v),
        details: detailsOf(state.rule, state.key, v),
      });
    }
  }

  /** Critical once the critical side has lasted the sustained-for time; else warning (if the rule has one). */
  private sustainedSeverity(state: RuleState, at: number): Level {
    const { rule } = state;
    if (state.criticalSince !== null && at - state.criticalSince >= rule.sustainedMs) return 'critical';
    return rule.warning !== null ? 'warning' : 'critical';
  }

  private writeRule(state: RuleState, at: number): void {
    const { rule, key, severity, value } = state;
    state.lastWrittenAt = at;
    state.lastWrittenValue = value;
    this.opts.sink.write({
      kind: 'upsert',
      key,
      alert: {
        alert_type: 'threshold',
        severity,
        title: titleOf(rule, key),
        message: messageOf(rule, key, severity, value),
        rule_id: rule.id,
        value,
        threshold: severity === 'critical' ? rule.critical : rule.warning,
        muted: this.opts.silences().mutes(key.robot_id, rule.id, at),
        details: detailsOf(rule, key, value),
        at: state.badSince,
      },
    });
  }

  private resolveRule(state: RuleState, reason: string): void {
    this.drop(state);
    this.counters.resolved++;
    this.opts.sink.write({ kind: 'resolve', key: state.key, reason });
  }

  private put(robot_id: string, ruleId: number, source: string, state: RuleState): void {
    const byRule = entry(this.states, robot_id, () => new Map());
    const bySource = entry(byRule, ruleId, () => new Map());
    bySource.set(source, state);
  }

  private drop(state: RuleState): void {
    const byRule = this.states.get(state.key.robot_id);
    const bySource = byRule?.get(state.rule.id);
    if (!byRule || !bySource) return;
    bySource.delete(state.key.source ?? '');
    if (bySource.size === 0) byRule.delete(state.rule.id);
    if (byRule.size === 0) this.states.delete(state.key.robot_id);
  }

  /**
   * An open alert found in the database at start: the engine carries on with it (a good value resolves it, a
   * bad one updates it) instead of leaving it open for ever.
   */
  adopt(row: {
    robot_id: string;
    dedup_key: string;
    source: string | null;
    severity: string;
    value: number | null;
    created_at: Date;
    details: Record<string, unknown> | null;
  }): void {
    const severity: Level = row.severity === 'critical' ? 'critical' : 'warning';
    const key: AlertKey = { robot_id: row.robot_id, dedup_key: row.dedup_key, source: row.source };
    const now = this.now();
    const ruleMatch = /^rule:(\d+)$/.exec(row.dedup_key);
    if (!ruleMatch) {
      const count = Number(row.details?.count ?? 1);
      this.eventState(key, severity, Number.isFinite(count) ? count : 1, '', now);
      return;
    }
    const ruleId = Number(ruleMatch[1]);
    const rule = this.opts.rules().rule(ruleId);
    if (!rule || !this.opts.rules().applies(row.robot_id, ruleId)) {
      this.counters.resolved++;
      this.opts.sink.write({ kind: 'resolve', key, reason: 'rule removed or disabled' });
      return;
    }
    const source = row.source ?? rule.field;
    this.put(row.robot_id, ruleId, source, {
      key: { ...key, source },
      rule,
      badSince: row.created_at.getTime(),
      criticalSince: severity === 'critical' ? now : null,
      raised: true,
      severity,
      value: row.value ?? Number.NaN,
      lastWrittenAt: now,
      lastWrittenValue: row.value ?? Number.NaN,
      goodSince: null,
      lastSampleAt: now,
    });
  }

  /**
   * A person resolved or deleted an alert: the engine forgets it, so a value still bad raises a fresh alert
   * after its sustained-for time (not never, and not at once).
   */
  forget(key: AlertKey): void {
    const rule = /^rule:(\d+)$/.exec(key.dedup_key);
    if (rule) {
      const byRule = this.states.get(key.robot_id);
      const bySource = byRule?.get(Number(rule[1]));
      if (bySource?.delete(key.source ?? '')) this.counters.forgotten++;
      if (bySource?.size === 0) byRule!.delete(Number(rule[1]));
      if (byRule?.size === 0) this.states.delete(key.robot_id);
      return;
    }
    const kinds = this.events.get(key.robot_id);
    if (kinds?.delete(key.dedup_key)) this.counters.forgotten++;
    if (kinds?.size === 0) this.events.delete(key.robot_id);
  }

  /** Rules or silences changed: alerts of rules that no longer apply resolve. */
  rulesChanged(): void {
    const table = this.opts.rules();
    for (const [robot_id, byRule] of this.states) {
      for (const [ruleId, bySource] of byRule) {
        if (table.applies(robot_id, ruleId)) continue;
        for (const state of bySource.values()) {
          if (state.raised) this.resolveRule(state, 'rule removed or disabled');
          else this.drop(state);
        }
      }
    }
  }

  /** About once a second: resolutions due without a new sample, counts to write, stale pending conditions. */
  tick(): void {
    const now = this.now();
    for (const byRule of this.states.values()) {
      for (const bySource of byRule.values()) {
        for (const state of bySource.values()) {
          if (state.raised) {
            if (state.goodSince !== null && now - state.goodSince >= this.opts.resolveAfterMs) {
              this.resolveRule(state, 'value back to normal');
            }
          } else if (now - state.lastSampleAt > PENDING_STALE_MS) this.drop(state);
        }
      }
    }
    for (const kinds of this.events.values()) {
      for (const state of kinds.values()) {
        if (state.dirty && now - state.lastWrittenAt >= this.updateIntervalMs) this.writeEvent(state, now);
      }
    }
  }

  // --- Alerts no rule raises --------------------------------------------------------------------------------

  /** `robot.status`: offline raises `robot_offline`, emergency_stopped `emergency_stop`; leaving them resolves. */
  status(e: ServerEvents['robot.status']): void {
    const { robot_id, status } = e;
    if (status === 'offline') {
      // A deleted robot is gone on purpose: nothing to alert about, and nothing of it stays open.
      if (e.reason === 'robot deleted') {
        this.resolveRobot(robot_id, 'robot deleted');
        return;
      }
      this.raiseEvent(robot_id, 'robot_offline', 'warning', `Robot ${robot_id} offline`, offlineMessage(e));
      return;
    }
    this.resolveEvent(robot_id, 'robot_offline', `robot back (${status})`);
    if (status === 'emergency_stopped') {
      const why = e.reason ? `: ${e.reason}` : '';
      this.raiseEvent(
        robot_id,
        'emergency_stop',
        'critical',
        `Emergency stop on ${robot_id}`,
        `Robot ${robot_id} is emergency-stopped${why}`,
      );
    } else {
      // Offline says nothing of the stop; any other status means the robot left it.
      this.resolveEvent(robot_id, 'emergency_stop', `robot resumed (${status})`);
    }
  }

  /** `robot.log` at level error or critical: one open `robot_error` per robot, its count updated in place. */
  log(e: ServerEvents['robot.log']): void {
    const level = e.level.toLowerCase();
    if (level !== 'error' && level !== 'critical' && level !== 'fatal') return;
    const severity: Level = level === 'error' ? 'warning' : 'critical';
    const from = e.source ? ` (${e.source})` : '';
    this.countEvent(
      e.robot_id,
      'robot_error',
      severity,
      `Errors reported by ${e.robot_id}`,
      `${e.message}${from}`,
    );
  }

  /** `robot.job` with status failed: one open `job_failed` per robot, counted like robot errors. */
  job(e: ServerEvents['robot.job']): void {
    if (e.data.status !== 'failed') return;
    const task = typeof e.data.task_name === 'string' ? e.data.task_name : undefined;
    const id = typeof e.data.job_id === 'string' ? e.data.job_id : undefined;
    const reason = typeof e.data.reason === 'string' && e.data.reason ? `: ${e.data.reason}` : '';
    const what = [task && `"${task}"`, id && `(${id})`].filter(Boolean).join(' ') || 'a job';
    this.countEvent(
      e.robot_id,
      'job_failed',
      'warning',
      `Job failed on ${e.robot_id}`,
      `${what} failed${reason}`,
    );
  }

  private raiseEvent(robot_id: string, kind: string, severity: Level, title: string, message: string): void {
    const existing = this.events.get(robot_id)?.get(kind);
    if (existing && RANK[existing.severity] >= RANK[severity]) return;
    const now = this.now();
    const state =
      existing ?? this.eventState({ robot_id, dedup_key: kind, source: null }, severity, 1, message, now);
    state.severity = severity;
    state.message = message;
    this.counters.raised++;
    this.writeEvent(state, now, title);
  }

  private countEvent(robot_id: string, kind: string, severity: Level, title: string, message: string): void {
    const now = this.now();
    const existing = this.events.get(robot_id)?.get(kind);
    if (!existing) {
      const state = this.eventState({ robot_id, dedup_key: kind, source: null }, severity, 1, message, now);
      this.counters.raised++;
      this.writeEvent(state, now, title);
      return;
    }
    existing.count++;
    existing.message = message;
    const escalates = RANK[severity] > RANK[existing.severity];
    if (escalates) {
      existing.severity = severity;
      this.counters.escalated++;
    }
    if (escalates || now - existing.lastWrittenAt >= this.updateIntervalMs)
      this.writeEvent(existing, now, title);
    else existing.dirty = true;
  }

  private eventState(
    key: AlertKey,
    severity: Level,
    count: number,
    message: string,
    now: number,
  ): EventState {
    const state: EventState = { key, severity, count, message, dirty: false, lastWrittenAt: now };
    const kinds = entry(this.events, key.robot_id, () => new Map());
    kinds.set(key.dedup_key, state);
    return state;
  }

  private writeEvent(state: EventState, now: number, title = eventTitle(state.key)): void {
    state.dirty = false;
    state.lastWrittenAt = now;
    const { key } = state;
    // Robot errors and failed jobs are counted; offline and emergency stop are states.
    const counted = key.dedup_key === 'robot_error' || key.dedup_key === 'job_failed';
    this.opts.sink.write({
      kind: 'upsert',
      key,
      alert: {
        alert_type: key.dedup_key,
        severity: state.severity,
        title,
        message: counted && state.count > 1 ? `${state.message} (${state.count} so far)` : state.message,
        rule_id: null,
        value: counted ? state.count : null,
        threshold: null,
        muted: this.opts.silences().mutes(key.robot_id, null, now),
        details: counted ? { count: state.count } : {},
        at: now,
      },
    });
  }

  private resolveEvent(robot_id: string, kind: string, reason: string): void {
    const kinds = this.events.get(robot_id);
    const state = kinds?.get(kind);
    if (!state) return;
    kinds!.delete(kind);
    if (kinds!.size === 0) this.events.delete(robot_id);
    this.counters.resolved++;
    this.opts.sink.write({ kind: 'resolve', key: state.key, reason });
  }

  /** Every open alert and condition of a robot resolves (an admin deleted it). */
  private resolveRobot(robot_id: string, reason: string): void {
    for (const bySource of this.states.get(robot_id)?.values() ?? []) {
      for (const state of bySource.values()) {
        if (state.raised) this.resolveRule(state, reason);
        else this.drop(state);
      }
    }
    for (const kind of [...(this.events.get(robot_id)?.keys() ?? [])])
      this.resolveEvent(robot_id, kind, reason);
  }

  /** Open alerts and conditions this engine follows (health). */
  get tracked(): { conditions: number; open: number } {
    let conditions = 0;
    let open = 0;
    for (const byRule of this.states.values()) {
      for (const bySource of byRule.values()) {
        for (const s of bySource.values()) {
          conditions++;
          if (s.raised) open++;
        }
      }
    }
    for (const kinds of this.events.values()) open += kinds.size;
    return { conditions, open };
  }
}

/** The source within the robot: the series' tags (`servo:3`), else the field's name. */
function sourceOf(tags: Readonly<Record<string, string>> | undefined, field: string): string {
  if (tags === undefined) return field;
  const servo = tags.servo_id;
  if (servo !== undefined) return `servo:${servo}`;
  let out = '';
  for (const k in tags) out += `${out ? ',' : ''}${k}:${tags[k]}`;
  return out || field;
}

function sourceLabel(key: AlertKey): string {
  const s = key.source;
  if (!s) return '';
  const servo = /^servo:(.+)$/.exec(s);
  return servo ? ` (servo ${servo[1]})` : s.includes(':') ? ` (${s})` : '';
}

function titleOf(rule: CompiledRule, key: AlertKey): string {
  return `${rule.name} on ${key.robot_id}${sourceLabel(key)}`.slice(0, 200);
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1));

function messageOf(rule: CompiledRule, key: AlertKey, severity: Level, v: number): string {
  const level = severity === 'critical' ? rule.critical : rule.warning;
  const side = rule.above ? 'above' : 'below';
  const at =
    level === null
      ? ''
      : `, ${rule.above ? 'at or above' : 'at or below'} the ${severity} level ${fmt(level)}${rule.unit}`;
  return `${rule.measurement}.${rule.field}${sourceLabel(key)} is ${fmt(v)}${rule.unit}${at} (alert when ${side})`;
}

function detailsOf(rule: CompiledRule, key: AlertKey, v: number): Record<string, unknown> {
  return {
    measurement: rule.measurement,
    field: rule.field,
    direction: rule.above ? 'above' : 'below',
    warning_level: rule.warning,
    critical_level: rule.critical,
    clear_level: rule.clear,
    source: key.source,
    current_value: v,
  };
}

function eventTitle(key: AlertKey): string {
  switch (key.dedup_key) {
    case 'robot_offline':
      return `Robot ${key.robot_id} offline`;
    case 'emergency_stop':
      return `Emergency stop on ${key.robot_id}`;
    case 'job_failed':
      return `Job failed on ${key.robot_id}`;
    default:
      return `Errors reported by ${key.robot_id}`;
  }
}

function offlineMessage(e: ServerEvents['robot.status']): string {
  return e.reason ? `Robot ${e.robot_id} went offline: ${e.reason}` : `Robot ${e.robot_id} went offline`;
}
