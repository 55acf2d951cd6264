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
export type TelemetryResponse = z.infer<typeof C.TelemetryResponse>;
export type ErrorEnvelope = z.infer<typeof C.ErrorBody>;
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
export type {
  LiveChannel,
  LiveFrame,
  LiveServerEvents,
  Permission,
  RobotStatus,
  Role,
} from '@tonypi/contracts';
