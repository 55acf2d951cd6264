import type { ReportKind, ReportSectionKey, ReportSnapshot } from '@tonypi/contracts';

/**
 * Everything a report is computed from, gathered by the reports service from the stores (never raw rows: the
 * telemetry comes as minute roll-ups, or coarser for long periods). `buildReport` (sections.ts) turns it into a
 * ReportDocument; nothing in between reads a database.
 */
export interface ReportInput {
  kind: ReportKind;
  sections: readonly ReportSectionKey[];
  title: string;
  scope: { robot_id: string | null; tag: string | null };
  /** Epoch ms: [from, to). */
  from: number;
  to: number;
  generated_at: number;
  robots: ReportRobot[];
  /** Roll-up buckets per robot, measurement, field and tag set (e.g. one servo). */
  series: ReportSeriesInput[];
  alerts: ReportAlertInput[];
  jobs: ReportJobInput[];
  /** Camera snapshots of the robots in the period (at most REPORT_SNAPSHOTS_MAX); none when left out. */
  snapshots?: ReportSnapshot[];
  /** The levels the alert rules use, for "time above" figures (servo temperature, cpu, …). */
  levels: ReportLevel[];
}

export interface ReportRobot {
  robot_id: string;
  name: string | null;
  /** Epoch ms the robot was first seen, null when unknown (availability counts from then). */
  first_seen: number | null;
}

export interface ReportBucket {
  /** Bucket start, epoch ms. */
  t: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  /** Raw points in the bucket: 0 = no data (the robot sent nothing then). */
  count: number;
}

export interface ReportSeriesInput {
  robot_id: string;
  /** `system`, `battery`, `servos`, `sensors`, … */
  measurement: string;
  field: string;
  /** e.g. `{ servo_id: '3' }` for one servo; `{}` for a robot-wide field. */
  tags: Record<string, string>;
  /** Each bucket's length, ms (60 000 for minute roll-ups). */
  bucket_ms: number;
  buckets: ReportBucket[];
}

export interface ReportAlertInput {
  id: number;
  robot_id: string | null;
  alert_type: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  source: string | null;
  /** Epoch ms. */
  created_at: number;
  /** Epoch ms; null while still open. */
  resolved_at: number | null;
}

export interface ReportJobInput {
  id: number;
  robot_id: string;
  task_name: string | null;
  status: string;
  success: boolean | null;
  items_done: number;
  /** Epoch ms. */
  start_time: number;
  end_time: number | null;
}

export interface ReportLevel {
  measurement: string;
  field: string;
  direction: 'above' | 'below';
  warning: number | null;
  critical: number | null;
  /** Only this tag set (e.g. one servo), or every one when null. */
  tags: Record<string, string> | null;
}
