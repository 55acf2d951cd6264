import { z } from 'zod';

/**
 * Alerts as the API and the live stream show them (issue #7 §1). One open alert per robot + rule +
 * source: escalated and updated in place, never duplicated; resolved automatically once the value has
 * stayed on the good side of the rule's clear level, or by a person.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const AlertView = z
  .object({
    id: z.number().int(),
    /** Null for an alert about the whole fleet or the server. */
    robot_id: z.string().nullable(),
    /** What kind: `threshold`, `robot_offline`, `emergency_stop`, `robot_error`, `job_failed`, … */
    alert_type: z.string(),
    severity: z.enum(ALERT_SEVERITIES),
    state: z.enum(ALERT_STATES),
    title: z.string(),
    message: z.string(),
    /** The rule that raised it, if a rule did. */
    rule_id: z.number().int().nullable(),
    /** What within the robot: `cpu`, `servo:3`, … — one open alert per robot + rule + source. */
    source: z.string().nullable(),
    value: z.number().nullable(),
    threshold: z.number().nullable(),
    /** Raised during a silence: recorded and shown, not notified. */
    muted: z.boolean(),
    acknowledged_by: z.string().nullable(),
    acknowledged_at: Iso.nullable(),
    acknowledge_note: z.string().nullable(),
    resolved_by: z.string().nullable().describe('null when the engine resolved it'),
    resolved_at: Iso.nullable(),
    /** The note of the person who resolved it (POST /alerts/{id}/resolve); absent where a writer has none. */
    resolve_note: z.string().nullable().optional(),
    created_at: Iso,
    updated_at: Iso,
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'Alert' });
export type AlertView = z.infer<typeof AlertView>;

/** What happened to an alert: the live stream's `alert` frame and the `alert.changed` event carry it. */
export const ALERT_CHANGES = [
  'raised',
  'escalated',
  'updated',
  'acknowledged',
  'resolved',
  'deleted',
] as const;
export type AlertChange = (typeof ALERT_CHANGES)[number];
