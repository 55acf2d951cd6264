import type { AlertSeverity } from '@tonypi/contracts';
import { type RuleRow, scopeKey } from './alert-rules';

/** A rule made ready for evaluation: numbers only, no lookups left. */
export interface CompiledRule {
  readonly id: number;
  readonly robot_id: string | null;
  readonly name: string;
  readonly measurement: string;
  readonly field: string;
  /** The tag filter as pairs; empty = every series. */
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly above: boolean;
  readonly warning: number | null;
  readonly critical: number | null;
  /** The level a value must pass (to the good side) for the alert to clear: never null. */
  readonly clear: number;
  /** The least severe level that raises: the warning level, else the critical one. */
  readonly entry: number;
  readonly sustainedMs: number;
  readonly enabled: boolean;
  readonly unit: string;
}

/** Rules of one (robot-or-fleet, measurement, field): the most specific tag filter first, a robot's before the fleet's. */
export interface FieldRules {
  readonly field: string;
  readonly candidates: readonly CompiledRule[];
}

/** One measurement's rules: as a list, and by field (a point with fewer fields than rules is looked up field by field). */
export interface FieldRuleSet {
  readonly list: readonly FieldRules[];
  readonly byField: ReadonlyMap<string, FieldRules>;
}

export type MeasurementRules = ReadonlyMap<string, FieldRuleSet>;

export function compile(row: RuleRow): CompiledRule {
  const entry = (row.warning_level ?? row.critical_level) as number;
  return {
    id: row.id,
    robot_id: row.robot_id,
    name: row.name,
    measurement: row.measurement,
    field: row.field,
    tags: Object.entries(row.tag_filter ?? {}),
    above: row.direction === 'above',
    warning: row.warning_level,
    critical: row.critical_level,
    clear: row.clear_level ?? entry,
    entry,
    sustainedMs: row.sustained_s * 1000,
    enabled: row.enabled,
    unit: unitOf(row.field),
  };
}

/** The unit a field's name carries (`_percent`, `_c`, `_v` …), for alert messages. */
function unitOf(field: string): string {
  if (field.endsWith('_percent') || field === 'percent') return ' %';
  if (field.endsWith('_c')) return ' °C';
  if (field.endsWith('_v')) return ' V';
  if (field.endsWith('_a')) return ' A';
  if (field.endsWith('_cm')) return ' cm';
  if (field.endsWith('_s')) return ' s';
  return '';
}

/** The severity a value has under a rule, ignoring hysteresis; null on the good side of the entry level. */
export function severityOf(rule: CompiledRule, v: number): Exclude<AlertSeverity, 'info'> | null {
  if (rule.above) {
    if (rule.critical !== null && v >= rule.critical) return 'critical';
    return rule.warning !== null && v >= rule.warning ? 'warning' : null;
  }
  if (rule.critical !== null && v <= rule.critical) return 'critical';
  return rule.warning !== null && v <= rule.warning ? 'warning' : null;
}

/** Whether a value is on the good side of the clear level (an open alert may resolve). */
export function isClear(rule: CompiledRule, v: number): boolean {
  return rule.above ? v < rule.clear : v > rule.clear;
}

/** Whether a point's tags match a rule's filter. */
export function tagsMatch(rule: CompiledRule, tags: Readonly<Record<string, string>> | undefined): boolean {
  const want = rule.tags;
  for (let i = 0; i < want.length; i++) {
    const [k, v] = want[i]!;
    if (tags?.[k] !== v) return false;
  }
  return true;
}

/**
 * Every rule, arranged so evaluating a point is a map lookup and a loop: the fleet's table for robots
 * without rules of their own, and one merged table per robot that has some. Immutable: a change builds a
 * new table and swaps it in.
 */
export class RuleTable {
  private readonly fleet: MeasurementRules;
  private readonly perRobot = new Map<string, MeasurementRules>();
  private readonly byId = new Map<number, CompiledRule>();
  /** Per robot, the scopes its own rules take (they replace the fleet's rule of the same scope). */
  private readonly robotScopes = new Map<string, Set<string>>();
  private readonly scopeOf = new Map<number, string>();

  constructor(rows: readonly RuleRow[]) {
    const fleetRules: CompiledRule[] = [];
    const robotRules = new Map<string, CompiledRule[]>();
    for (const row of rows) {
      const c = compile(row);
      this.byId.set(c.id, c);
      this.scopeOf.set(c.id, scopeKey(row));
      if (row.robot_id === null) fleetRules.push(c);
      else {
        const list = entry(robotRules, row.robot_id, () => []);
        list.push(c);
        const scopes = entry(this.robotScopes, row.robot_id, () => new Set());
        scopes.add(scopeKey(row));
      }
    }
    this.fleet = arrange(fleetRules);
    for (const [robot_id, own] of robotRules) {
      const scopes = this.robotScopes.get(robot_id)!;
      const inherited = fleetRules.filter((r) => !scopes.has(this.scopeOf.get(r.id)!));
      this.perRobot.set(robot_id, arrange([...own, ...inherited]));
    }
  }

  /** The rules a robot's points of this measurement are evaluated against; undefined when none. */
  for(robot_id: string, measurement: string): FieldRuleSet | undefined {
    return (this.perRobot.get(robot_id) ?? this.fleet).get(measurement);
  }

  rule(id: number): CompiledRule | undefined {
    return this.byId.get(id);
  }

  /** Whether the rule still applies to the robot: it exists, is enabled, and no robot rule replaces it. */
  applies(robot_id: string, ruleId: number): boolean {
    const r = this.byId.get(ruleId);
    if (!r?.enabled) return false;
    if (r.robot_id !== null) return r.robot_id === robot_id;
    return !this.robotScopes.get(robot_id)?.has(this.scopeOf.get(ruleId)!);
  }

  get size(): number {
    return this.byId.size;
  }
}

function arrange(rules: readonly CompiledRule[]): MeasurementRules {
  const byMeasurement = new Map<string, Map<string, CompiledRule[]>>();
  for (const r of rules) {
    const fields = entry(byMeasurement, r.measurement, () => new Map());
    const list = entry(fields, r.field, () => []);
    list.push(r);
  }
  const out = new Map<string, FieldRuleSet>();
  for (const [measurement, fields] of byMeasurement) {
    const groups: FieldRules[] = [];
    for (const [field, list] of fields) {
      list.sort(
        (a, b) => b.tags.length - a.tags.length || Number(b.robot_id !== null) - Number(a.robot_id !== null),
      );
      // A group whose every rule is disabled evaluates nothing: leave it out.
      if (list.some((r) => r.enabled)) groups.push({ field, candidates: list });
    }
    if (groups.length > 0)
      out.set(measurement, { list: groups, byField: new Map(groups.map((g) => [g.field, g])) });
  }
  return out;
}

/** The map's value for the key, made and stored first when missing. */
export function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
