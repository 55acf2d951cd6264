/** Error codes of the REST API and the live stream: `{ error: { code, message, details? } }`. */
export const ERROR_CODES = [
  'validation_error',
  'bad_request',
  'unauthorized',
  'invalid_credentials',
  'forbidden',
  'not_found',
  'robot_not_found',
  'conflict',
  'method_not_allowed',
  'request_timeout',
  'payload_too_large',
  'uri_too_long',
  'unsupported_media_type',
  'headers_too_large',
  'rate_limited',
  'service_unavailable',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Why the ingest rejected a message; each reason has its own counter. */
export const INGEST_REJECT_REASONS = [
  'bad_topic',
  'bad_robot_id',
  'unknown_channel',
  'oversize',
  'bad_json',
  'not_an_object',
  'invalid_payload',
  'robot_id_mismatch',
  'unknown_robot',
  'overload',
] as const;
export type IngestRejectReason = (typeof INGEST_REJECT_REASONS)[number];
