import type * as C from '@tonypi/contracts';
import type { z } from 'zod';

/**
 * The API's shapes, inferred from the schemas in `contracts` that the server validates and documents with:
 * types only (`import type`), so not a byte of zod reaches the browser.
 */
export type Robot = z.infer<typeof C.Robot>;
export type RobotList = z.infer<typeof C.RobotList>;
export type Me = z.infer<typeof C.MeResponse>;
export type SessionResponse = z.infer<typeof C.SessionResponse>;
export type LoginResponse = z.infer<typeof C.LoginResponse>;
export type Health = z.infer<typeof C.HealthResponse>;
export type UiConfig = z.infer<typeof C.UiConfig>;
export type GrafanaUiConfig = NonNullable<UiConfig['grafana']>;
export type TelemetryResponse = z.infer<typeof C.TelemetryResponse>;
export type ErrorEnvelope = z.infer<typeof C.ErrorBody>;
export type CommandView = z.infer<typeof C.CommandView>;
export type CommandList = z.infer<typeof C.CommandList>;
export type CommandAccepted = z.infer<typeof C.CommandAccepted>;
export type CommandRequest = z.input<typeof C.CommandRequest>;
export type RequestableCommand = (typeof C.REQUESTABLE_COMMANDS)[number];
export type AlertRuleListItem = z.infer<typeof C.AlertRuleListItem>;
export type RobotWithCredentials = z.infer<typeof C.RobotWithCredentials>;
export type UpdateRobotRequest = z.input<typeof C.UpdateRobotRequest>;
export type UserAccount = z.infer<typeof C.UserAccount>;
export type UserList = z.infer<typeof C.UserList>;
export type UserWithTemporaryPassword = z.infer<typeof C.UserWithTemporaryPassword>;
export type ApiKey = z.infer<typeof C.ApiKey>;
export type ApiKeyList = z.infer<typeof C.ApiKeyList>;
export type ApiKeyCreated = z.infer<typeof C.ApiKeyCreated>;
export type AuditEvent = z.infer<typeof C.AuditEvent>;
export type AuditList = z.infer<typeof C.AuditList>;
export type LogEntry = z.infer<typeof C.LogEntry>;
export type LogList = z.infer<typeof C.LogList>;
export type Job = z.infer<typeof C.JobView>;
export type JobDetail = z.infer<typeof C.JobDetail>;
export type JobList = z.infer<typeof C.JobList>;
export type JobStats = z.infer<typeof C.JobStats>;
export type JobFigures = z.infer<typeof C.JobFigures>;
export type Scan = z.infer<typeof C.ScanView>;
export type ScanList = z.infer<typeof C.ScanList>;
export type Item = z.infer<typeof C.ItemView>;
export type ItemList = z.infer<typeof C.ItemList>;
export type ItemImportReport = z.infer<typeof C.ItemImportReport>;
export type RobotDiagnostics = z.infer<typeof C.RobotDiagnostics>;
export type {
  LiveChannel,
  LiveFrame,
  LiveServerEvents,
  MeasurementName,
  Permission,
  RobotStatus,
  Role,
} from '@tonypi/contracts';

export type AlertView = z.infer<typeof C.AlertView>;
export type AlertList = z.infer<typeof C.AlertList>;
export type AlertSeverity = C.AlertSeverity;
export type AlertState = C.AlertState;
export type AlertRule = z.infer<typeof C.AlertRuleListItem>;
export type AlertRuleList = z.infer<typeof C.AlertRuleList>;
export type CreateAlertRuleRequest = z.input<typeof C.CreateAlertRuleRequest>;
export type AlertSilence = z.infer<typeof C.AlertSilence>;
export type AlertSilenceList = z.infer<typeof C.AlertSilenceList>;
export type CreateAlertSilenceRequest = z.input<typeof C.CreateAlertSilenceRequest>;
export type NotificationChannel = z.infer<typeof C.NotificationChannel>;
export type NotificationChannelList = z.infer<typeof C.NotificationChannelList>;
export type CreateNotificationChannelRequest = z.input<typeof C.CreateNotificationChannelRequest>;
export type NotificationDelivery = z.infer<typeof C.NotificationDelivery>;
export type RobotSshSettings = z.infer<typeof C.RobotSshSettings>;
export type ConfiguredSsh = z.infer<typeof C.ConfiguredSsh>;
export type PutRobotSshRequest = z.input<typeof C.PutRobotSshRequest>;
export type SshHostKey = z.infer<typeof C.SshHostKey>;
export type SshSession = z.infer<typeof C.SshSession>;
export type SshSessionList = z.infer<typeof C.SshSessionList>;
export type SshTestResult = z.infer<typeof C.SshTestResult>;
export type TerminalServerFrame = C.TerminalServerFrame;
export type ReportKind = (typeof C.REPORT_KINDS)[number];
export type ReportSectionKey = (typeof C.REPORT_SECTIONS)[number];
export type CreateReportRequest = z.input<typeof C.CreateReportRequest>;
export type ReportAccepted = z.infer<typeof C.ReportAccepted>;
export type ReportView = z.infer<typeof C.ReportView>;
export type ReportList = z.infer<typeof C.ReportList>;
export type ReportSchedule = z.infer<typeof C.ReportSchedule>;
export type ReportScheduleList = z.infer<typeof C.ReportScheduleList>;
export type CreateReportScheduleRequest = z.input<typeof C.CreateReportScheduleRequest>;
export type ScheduleFrequency = C.ScheduleFrequency;
export type ReportWithDocument = z.infer<typeof C.ReportWithDocument>;
export type ReportStatement = z.infer<typeof C.ReportStatement>;
export type ReportTable = z.infer<typeof C.ReportTable>;
export type ReportChart = z.infer<typeof C.ReportChart>;
export type ReportAiStatus = z.infer<typeof C.ReportAiStatus>;
export type CameraStatus = z.infer<typeof C.CameraStatus>;
export type CameraSnapshot = z.infer<typeof C.CameraSnapshot>;
export type CameraSnapshotList = z.infer<typeof C.CameraSnapshotList>;
export type AlertSnapshots = z.infer<typeof C.AlertSnapshots>;
export type ReportSnapshot = z.infer<typeof C.ReportSnapshot>;
