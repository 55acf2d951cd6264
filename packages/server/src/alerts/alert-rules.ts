import { type AlertRuleDirection, MEASUREMENTS, type MeasurementName } from '@tonypi/contracts';

/** A rule as the engine and the service hold it (the row of `alert_rules`, times as Dates). */
export interface RuleRow {
  id: number;
  robot_id: string | null;
  name: string;
  measurement: string;
  field: string;
  tag_filter: Record<string, string>;
  direction: AlertRuleDirection;
  warning_level: number | null;
  critical_level: number | null;
  clear_level: number | null;
  sustained_s: number;
  enabled: boolean;
  is_default: boolean;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

/** What a rule says, without its identity (a default, or a request merged onto a row). */
export type RuleSpec = Pick<
  RuleRow,
  | 'robot_id'
  | 'name'
  | 'measurement'
  | 'field'
  | 'tag_filter'
  | 'direction'
  | 'warning_level'
  | 'critical_level'
  | 'clear_level'
  | 'sustained_s'
  | 'enabled'
>;

/**
 * The built-in global rules (seed 003's defaults, issue #7 §1), inserted at start when missing and restored by
 * reset-defaults. Clear levels sit a little on the good side of the warning level, so a value hovering at the
 * level raises one alert, not one per crossing.
 */
export const DEFAULT_RULES: readonly RuleSpec[] = [
  rule('CPU usage', 'system', 'cpu_percent', 'above', 70, 90, 65, 10),
  rule('Memory usage', 'system', 'memory_percent', 'above', 75, 90, 70, 0),
  rule('CPU temperature', 'system', 'cpu_temperature_c', 'above', 70, 80, 65, 0),
  rule('Battery low', 'battery', 'percent', 'below', 20, 10, 25, 0),
  // Each servo is its own source (`servo:<id>`): one alert per hot servo.
  rule('Servo temperature', 'servos', 'temperature_c', 'above', 60, 75, 55, 0),
  // The servo rail: the TonyPi's pack is a 3S LiPo (12.6 V full, 11.1 V nominal, 9.0 V empty; agent
  // battery-model.ts) feeding the bus servos through a fixed-ratio converter (× 0.6, robot-model.ts), so
  // the servos see ~7.4-7.6 V on a full pack — a 2S pack's range — ~6.7 V at nominal and 5.4 V at empty,
  // less up to 0.4 V under their own load (servo-model.ts). Simulated fleets never go below 6.0 V above
  // 20 % charge (the low-battery warning) and reach 5.8 V at 10 %: a warning below 5.9 V fires only on a
  // nearly flat pack (or a failing converter or connector), critical below 5.6 V (a few % left; brown-outs
  // follow), and 5 s sustained ignores the dips of a stalled servo. The original's 5.5/5.0 V against
  // its own 5.0 V default fired permanently.
  rule('Servo voltage low', 'servos', 'voltage_v', 'below', 5.9, 5.6, 6.1, 5),
];

function rule(
  name: string,
  measurement: MeasurementName,
  field: string,
  direction: AlertRuleDirection,
  warning_level: number,
  critical_level: number,
  clear_level: number,
  sustained_s: number,
): RuleSpec {
  return {
    robot_id: null,
    name,
    measurement,
    field,
    tag_filter: {},
    direction,
    warning_level,
    critical_level,
    clear_level,
    sustained_s,
    enabled: true,
  };
}

/** The scope a rule is unique in (and a robot's rule overrides the global one of): measurement, field, tags. */
export function scopeKey(r: Pick<RuleSpec, 'measurement' | 'field' | 'tag_filter'>): string {
  const tags = Object.keys(r.tag_filter)
    .sort()
    .map((k) => `${k}=${r.tag_filter[k]}`)
    .join(',');
  return `${r.measurement}\u0000${r.field}\u0000${tags}`;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What a schema cannot check of a whole rule: the levels' order for the direction, the clear level on the
 * good side, tags the measurement has. Each offending field once, named as the request names it.
 */
export function ruleProblems(r: RuleSpec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { warning_level: w, critical_level: c, clear_level: clear, direction } = r;
  const above = direction === 'above';
  if (w === null && c === null) {
    problems.push({
      field: 'body.warning_level',
      message: 'a warning or a critical level (or both) is needed',
    });
  }
  if (w !== null && c !== null && (above ? c < w : c > w)) {
    problems.push({
      field: 'body.critical_level',
      message: above
        ? `for "above" the critical level must not be below the warning level (${w})`
        : `for "below" the critical level must not be above the warning level (${w})`,
    });
  }
  const firing = w ?? c;
  if (clear !== null && firing !== null && (above ? clear > firing : clear < firing)) {
    problems.push({
      field: 'body.clear_level',
      message: above
        ? `the clear level must be at or below the ${w !== null ? 'warning' : 'critical'} level (${firing}) for "above"`
        : `the clear level must be at or above the ${w !== null ? 'warning' : 'critical'} level (${firing}) for "below"`,
    });
  }
  const known = MEASUREMENTS[r.measurement as MeasurementName];
  if (!known) {
    problems.push({ field: 'body.measurement', message: `unknown measurement "${r.measurement}"` });
  } else {
    const tags: readonly string[] = known.tags;
    for (const tag of Object.keys(r.tag_filter)) {
      if (!tags.includes(tag)) {
        problems.push({
          field: `body.tag_filter.${tag}`,
          message:
            tags.length === 0
              ? `${r.measurement} has no tags`
              : `${r.measurement} is tagged by ${tags.join(', ')} only`,
        });
      }
    }
  }
  return problems;
}
