import type { ReportKind, ReportSectionKey } from '../../api/types';

/** What the app calls each report kind and section. */
export const KIND_LABELS: Record<ReportKind, string> = {
  fleet_summary: 'Fleet summary',
  performance: 'Robot performance',
  battery: 'Battery health',
  servo_maintenance: 'Servo maintenance',
  jobs: 'Jobs and productivity',
  alerts: 'Alerts and incidents',
  custom: 'Custom (choose sections)',
};

export const SECTION_LABELS: Record<ReportSectionKey, string> = {
  availability: 'Availability',
  performance: 'Performance',
  battery: 'Battery',
  servos: 'Servos',
  jobs: 'Jobs',
  alerts: 'Alerts',
  anomalies: 'Anomalies',
};
