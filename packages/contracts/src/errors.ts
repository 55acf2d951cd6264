/** Error codes of the REST API and the live stream: `{ error: { code, message, details? } }`. */
export const ERROR_CODES = [
  'validation_error',
  'bad_request',
  'unauthorized',
  'invalid_credentials',
  'forbidden',
  /**
   * 403: a request that changes something, authenticated by the session cookie, came without proof that the
   * web app sent it (an Origin of this server or a CORS_ORIGINS entry, or an X-Requested-With header).
   */
  'csrf_failed',
  'not_found',
  'robot_not_found',
  'user_not_found',
  'api_key_not_found',
  /** A disabled user signing in, or using a session issued before they were disabled. */
  'account_disabled',
  /**
   * 403: the user signed in with a temporary password (`must_change_password`): until they set their own
   * with POST /api/v1/auth/password, their session may call only `public` and `self` routes.
   */
  'password_change_required',
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
  /** 404: no job with that id (GET /api/v1/jobs/{id}). */
  'job_not_found',
  /** 404: no item with that id in the catalogue. */
  'item_not_found',
  /** 409: an item with that qr_code is in the catalogue already. */
  'item_exists',
  /** 400: a CSV import whose body is not CSV the importer can read (no header, no qr_code/name column, …). */
  'invalid_csv',
  /** 404: no alert with that id (the alerts API; deleted alerts are gone). */
  'alert_not_found',
  /** 404: no notification channel with that id (issue #7 §1). */
  'notification_channel_not_found',
  /** 404: no alert rule with that id (`/api/v1/alert-rules/{id}`). */
  'alert_rule_not_found',
  /** 404: no alert silence with that id (`/api/v1/alert-silences/{id}`). */
  'alert_silence_not_found',
  /** 409: a command to a robot that is offline, sent without `queue_ttl_s`. */
  'robot_offline',
  'command_not_found',
  /** 409: an Idempotency-Key this user already used, within 24 h, for a different command. */
  'idempotency_key_reused',
  'emergency_stop_not_found',
  /** 404: no report with that id. */
  'report_not_found',
  /** 409: the report has no document yet (queued, running, failed or cancelled): its PDF or data cannot be read. */
  'report_not_ready',
  /** 409: a terminal to a robot without SSH settings (PUT /api/v1/robots/{id}/ssh first). */
  'ssh_not_configured',
  /** 429: the user has SSH_MAX_SESSIONS_PER_USER terminals open already. */
  'ssh_session_limit',
  'ssh_session_not_found',
  /** 409: the SSH settings' secrets cannot be read (SECRETS_KEY changed): set them again. */
  'ssh_secrets_unreadable',
  // How an SSH connection failed (terminal error frames and POST /robots/{id}/ssh/test): see SSH_ERROR_CODES.
  'ssh_auth_failed',
  'ssh_connection_refused',
  'ssh_timeout',
  'ssh_host_key_mismatch',
  'ssh_unreachable',
  'ssh_error',
  /** 409: the robot reported no camera_url (its camera routes). */
  'no_camera',
  /** 502 (refused, failed, not an MJPEG stream) or 504 (timed out): the robot's camera could not be read. */
  'camera_unreachable',
  /** 404: no stored camera snapshot with that id. */
  'camera_snapshot_not_found',
  /** 404: no report schedule with that id. */
  'report_schedule_not_found',
  /** 409: the schedule's report of that period exists already (its id in details.report_id). */
  'already_reported',
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
  /** Objects and arrays nested deeper than MAX_PAYLOAD_DEPTH. */
  'too_deep',
  /** An object with more keys, or an array with more elements, than MAX_PAYLOAD_WIDTH. */
  'too_wide',
  'invalid_payload',
  'robot_id_mismatch',
  'unknown_robot',
  'acl_denied',
  /** A robot an admin deleted (soft delete): its messages are refused until it is restored. */
  'robot_deleted',
  'registration_limited',
  'overload',
] as const;
export type IngestRejectReason = (typeof INGEST_REJECT_REASONS)[number];

/**
 * Why the ingest dropped one field of a message it otherwise accepted (the rest of the message
 * goes through); each reason has its own counter.
 */
export const INGEST_DROP_REASONS = [
  /** A `camera_url` that is not an http(s) URL with a host of at most MAX_URL_LENGTH characters. */
  'bad_url',
] as const;
export type IngestDropReason = (typeof INGEST_DROP_REASONS)[number];
