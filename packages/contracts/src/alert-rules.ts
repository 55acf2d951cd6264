import { z } from 'zod';
import { FIELD_NAME_RE, MEASUREMENT_NAMES } from './measurements';
import { text } from './payloads';
import { ROBOT_ID_RE } from './topics';

/**
 * Alert rules and silences (`/api/v1/alert-rules`, `/api/v1/alert-silences`, issue #7 §1). A rule watches
 * one numeric field of one measurement — optionally one series of it (a tag filter such as
 * `{"servo_id": "3"}`) — above or below a warning and/or a critical level, for a robot or (robot_id null)
 * the whole fleet. An alert is raised once the value has been on the bad side for `sustained_s`, and
 * resolved once it has stayed on the good side of the clear level for ALERT_RESOLVE_AFTER_S.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const ALERT_RULE_DIRECTIONS = ['above', 'below'] as const;
export type AlertRuleDirection = (typeof ALERT_RULE_DIRECTIONS)[number];

const level = z.number().finite().min(-1e12).max(1e12);
const RobotIdParam = z.string().regex(ROBOT_ID_RE, 'a robot id: 1-64 letters, digits, "_" or "-"');
const TagFilter = z
  .record(
    z.string().regex(FIELD_NAME_RE, 'a tag name: lower-case letters, digits and "_"'),
    z.string().min(1).max(64),
  )
  .refine((t) => Object.keys(t).length <= 4, 'at most 4 tags')
  .describe('Only the series with these tags, e.g. {"servo_id": "3"}; {} = every series');

export const AlertRule = z
  .object({
    id: z.number().int(),
    /** Null: a global rule (every robot without its own rule of the same scope). */
    robot_id: z.string().nullable(),
    name: z.string(),
    measurement: z.string(),
    field: z.string(),
    tag_filter: z.record(z.string(), z.string()),
    direction: z.enum(ALERT_RULE_DIRECTIONS),
    warning_level: z.number().nullable(),
    critical_level: z.number().nullable(),
    /** Null: the warning level (or the critical one, without a warning level) clears. */
    clear_level: z.number().nullable(),
    sustained_s: z.number().int(),
    enabled: z.boolean(),
    /** One of the built-in defaults: reset-defaults restores it; it can be disabled, not deleted. */
    is_default: z.boolean(),
    created_at: Iso,
    updated_at: Iso,
    updated_by: z.string().nullable(),
  })
  .meta({ id: 'AlertRule' });
export type AlertRule = z.infer<typeof AlertRule>;

const ruleFields = {
  name: text(100).min(1).optional().describe('Default: "<measurement>.<field> <direction>"'),
  robot_id: RobotIdParam.nullable().optional().describe('A robot override; null or absent: a global rule'),
  measurement: z.enum(MEASUREMENT_NAMES),
  field: z.string().regex(FIELD_NAME_RE, 'a field name: lower-case letters, digits and "_", 1-64 characters'),
  tag_filter: TagFilter.optional(),
  direction: z.enum(ALERT_RULE_DIRECTIONS),
  warning_level: level.nullable().optional(),
  critical_level: level.nullable().optional(),
  clear_level: level.nullable().optional(),
  sustained_s: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  enabled: z.boolean().optional(),
};

export const CreateAlertRuleRequest = z.strictObject(ruleFields).meta({ id: 'CreateAlertRuleRequest' });
export type CreateAlertRuleRequest = z.infer<typeof CreateAlertRuleRequest>;

/** Only the fields given change; the scope (robot, measurement, field, tag filter) too. */
export const UpdateAlertRuleRequest = z
  .strictObject({
    ...ruleFields,
    measurement: ruleFields.measurement.optional(),
    field: ruleFields.field.optional(),
    direction: ruleFields.direction.optional(),
  })
  .meta({ id: 'UpdateAlertRuleRequest' });
export type UpdateAlertRuleRequest = z.infer<typeof UpdateAlertRuleRequest>;

const booleanParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('true or false');

export const AlertRuleListQuery = z.object({
  robot_id: RobotIdParam.optional().describe(
    "The robot's own rules and the global ones it inherits (each with `overridden` saying whether the robot's rule of the same scope replaces it)",
  ),
  measurement: z.enum(MEASUREMENT_NAMES).optional(),
  enabled: booleanParam.optional(),
});
export type AlertRuleListQuery = z.infer<typeof AlertRuleListQuery>;

export const AlertRuleListItem = AlertRule.extend({
  /** With `?robot_id=`: a global rule the robot's own rule of the same scope replaces. */
  overridden: z.boolean(),
});
export const AlertRuleList = z.object({ items: z.array(AlertRuleListItem), total: z.number().int() });

export const AlertRuleIdParams = z.object({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

export const AlertSilence = z
  .object({
    id: z.number().int(),
    /** Null with rule_id null: the whole fleet. */
    robot_id: z.string().nullable(),
    rule_id: z.number().int().nullable(),
    starts_at: Iso,
    ends_at: Iso,
    reason: z.string(),
    created_by: z.string().nullable(),
    created_at: Iso,
    /** starts_at ≤ now < ends_at. */
    active: z.boolean(),
  })
  .meta({ id: 'AlertSilence' });
export type AlertSilence = z.infer<typeof AlertSilence>;

export const CreateAlertSilenceRequest = z
  .strictObject({
    robot_id: RobotIdParam.nullable().optional(),
    rule_id: z.number().int().min(1).max(2_147_483_647).nullable().optional(),
    starts_at: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
    ends_at: z.iso.datetime({ offset: true }).optional().describe('Either ends_at or duration_s'),
    duration_s: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .optional()
      .describe('From starts_at; either ends_at or duration_s'),
    reason: text(500).min(1),
  })
  .meta({ id: 'CreateAlertSilenceRequest' });
export type CreateAlertSilenceRequest = z.infer<typeof CreateAlertSilenceRequest>;

export const AlertSilenceListQuery = z.object({
  robot_id: RobotIdParam.optional(),
  active: booleanParam.optional().describe('true: active now; false: ended or not started yet'),
  include_ended: booleanParam.optional().describe('Also those that ended (default: false)'),
});
export type AlertSilenceListQuery = z.infer<typeof AlertSilenceListQuery>;

export const AlertSilenceList = z.object({ items: z.array(AlertSilence), total: z.number().int() });
export const AlertSilenceIdParams = AlertRuleIdParams;
