import type { AlertRuleListItem } from '../../api/types';

export type RuleState = 'ok' | 'warning' | 'critical' | 'unknown';

type Rule = Pick<
  AlertRuleListItem,
  | 'measurement'
  | 'field'
  | 'enabled'
  | 'overridden'
  | 'warning_level'
  | 'critical_level'
  | 'tag_filter'
  | 'direction'
>;

/** The rules of `servos.<field>` that watch this servo: those for every servo and those naming it. */
export function servoRules(rules: readonly Rule[] | undefined, servoId: string, field: string): Rule[] {
  return (rules ?? []).filter(
    (r) =>
      r.enabled &&
      !r.overridden &&
      r.measurement === 'servos' &&
      r.field === field &&
      Object.entries(r.tag_filter).every(([k, v]) => k === 'servo_id' && v === servoId),
  );
}

/** Where a value stands against rules: the worst level any of them puts it at. */
export function ruleState(rules: readonly Rule[], value: number | undefined): RuleState {
  if (value === undefined || !Number.isFinite(value)) return 'unknown';
  let state: RuleState = 'ok';
  for (const r of rules) {
    const past = (level: number | null) =>
      level !== null && (r.direction === 'below' ? value <= level : value >= level);
    if (past(r.critical_level)) return 'critical';
    if (past(r.warning_level)) state = 'warning';
  }
  return state;
}

export const STATE_LABEL: Record<RuleState, string> = {
  ok: 'normal',
  warning: 'warning',
  critical: 'critical',
  unknown: 'no value',
};

/** Text colours for values (≥ 4.5:1 on white and on slate-900). */
export const STATE_TEXT: Record<RuleState, string> = {
  ok: 'text-slate-900 dark:text-slate-100',
  warning: 'text-amber-800 dark:text-amber-300',
  critical: 'text-red-700 dark:text-red-400',
  unknown: 'text-slate-600 dark:text-slate-400',
};

/** Fills for the body figure's servo markers. */
export const STATE_FILL: Record<RuleState, string> = {
  ok: '#0f766e',
  warning: '#b45309',
  critical: '#b91c1c',
  unknown: '#475569',
};
