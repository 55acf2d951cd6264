import { z } from 'zod';

/**
 * The SSH terminal to a robot (issue #11 §1): per-robot connection settings (secrets write-only, sealed at rest),
 * the host key pinned on first use, the WebSocket terminal's frames and the sessions' audit records.
 */
const Iso = z.string().describe('ISO-8601 UTC');

/** A host name or an IP address: no spaces, no scheme, no user part. */
export const SshHost = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?!-)[A-Za-z0-9.:_-]+$/, 'a host name or an IP address (no scheme, user, port or brackets)');

/** Longest private key accepted (an RSA 16384-bit key in OpenSSH format fits). */
export const SSH_PRIVATE_KEY_MAX = 16_384;

export const PutRobotSshRequest = z
  .object({
    host: SshHost.nullable()
      .optional()
      .describe("Where to connect; null or left out: the robot's reported IP address"),
    port: z.number().int().min(1).max(65535).default(22),
    username: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"'),
    password: z
      .string()
      .min(1)
      .max(1024)
      .nullable()
      .optional()
      .describe('Write-only. Left out: the stored one is kept; null: removed'),
    private_key: z
      .string()
      .min(1)
      .max(SSH_PRIVATE_KEY_MAX)
      .nullable()
      .optional()
      .describe('Write-only. An OpenSSH or PEM private key. Left out: the stored one is kept; null: removed'),
    passphrase: z
      .string()
      .max(1024)
      .nullable()
      .optional()
      .describe("Write-only: the private key's passphrase, when it has one"),
    transcript: z
      .boolean()
      .default(false)
      .describe(
        "Keep what each session's terminal showed (its output, at most 1 MB a session) with the session's record",
      ),
  })
  .strict();
export type PutRobotSshRequest = z.infer<typeof PutRobotSshRequest>;

export const SshHostKey = z.object({
  type: z.string().describe('e.g. ssh-ed25519'),
  fingerprint: z.string().describe('SHA256:… as `ssh-keygen -l` prints it'),
  pinned_at: Iso,
});
export type SshHostKey = z.infer<typeof SshHostKey>;

export const ConfiguredSsh = z.object({
  robot_id: z.string(),
  configured: z.literal(true),
  host: z.string().nullable().describe("The configured host; null: the robot's reported IP address"),
  effective_host: z
    .string()
    .nullable()
    .describe('Where a terminal connects now; null: no host configured and the robot reported no IP'),
  port: z.number().int(),
  username: z.string(),
  has_password: z.boolean(),
  has_private_key: z.boolean(),
  private_key_type: z.string().nullable(),
  transcript: z.boolean(),
  host_key: SshHostKey.nullable().describe('Pinned on the first connection; null: none yet'),
  updated_at: Iso,
  updated_by: z.string().nullable(),
});
/** A robot without SSH settings: where a terminal would connect once a username and a secret are set. */
export const UnconfiguredSsh = z.object({
  robot_id: z.string(),
  configured: z.literal(false),
  effective_host: z.string().nullable().describe("The robot's reported IP address, the default host"),
});

export const RobotSshSettings = z.discriminatedUnion('configured', [ConfiguredSsh, UnconfiguredSsh]);
export type RobotSshSettings = z.infer<typeof RobotSshSettings>;
export type ConfiguredSsh = z.infer<typeof ConfiguredSsh>;

/** How a terminal session or a connection test can fail: the `code` of the error frame and the API's error. */
export const SSH_ERROR_CODES = [
  'ssh_auth_failed',
  'ssh_connection_refused',
  'ssh_timeout',
  'ssh_host_key_mismatch',
  'ssh_unreachable',
  'ssh_error',
] as const;
export type SshErrorCode = (typeof SSH_ERROR_CODES)[number];

export const SshTestResult = z.object({
  ok: z.literal(true),
  host: z.string(),
  port: z.number().int(),
  host_key: SshHostKey,
  first_use: z.boolean().describe('The host key was pinned by this connection'),
  connect_ms: z.number(),
});
export type SshTestResult = z.infer<typeof SshTestResult>;

export const SSH_END_REASONS = [
  'closed',
  'exited',
  'client_closed',
  'idle_timeout',
  'session_ended',
  'server_shutdown',
  'error',
] as const;

export const SshSession = z.object({
  id: z.string(),
  robot_id: z.string(),
  user_id: z.string().nullable(),
  username: z.string().nullable(),
  remote_addr: z.string().nullable(),
  host: z.string(),
  started_at: Iso,
  ended_at: Iso.nullable().describe('null: still open'),
  bytes_in: z.number().int().describe('Typed by the user (browser → robot)'),
  bytes_out: z.number().int().describe('Shown to the user (robot → browser)'),
  end_reason: z.string().nullable(),
  error_code: z.string().nullable(),
  has_transcript: z.boolean(),
});
export type SshSession = z.infer<typeof SshSession>;

export const SshSessionList = z.object({ items: z.array(SshSession) });

export const SshSessionParams = z.object({ session_id: z.string().uuid() });

/** Terminal size bounds a resize frame must keep. */
export const TERMINAL_MAX_COLS = 1000;
export const TERMINAL_MAX_ROWS = 500;
/** Longest `input` frame's data (a large paste arrives in several). */
export const TERMINAL_INPUT_MAX = 65_536;

/** Browser → server on `WS /api/v1/robots/{id}/terminal`. */
export const TerminalClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), data: z.string().max(TERMINAL_INPUT_MAX) }).strict(),
  z
    .object({
      type: z.literal('resize'),
      cols: z.number().int().min(1).max(TERMINAL_MAX_COLS),
      rows: z.number().int().min(1).max(TERMINAL_MAX_ROWS),
    })
    .strict(),
]);
export type TerminalClientFrame = z.infer<typeof TerminalClientFrame>;

export const TERMINAL_STATES = ['connecting', 'connected', 'closed'] as const;

/** Server → browser. */
export type TerminalServerFrame =
  | { type: 'output'; data: string }
  | {
      type: 'status';
      state: (typeof TERMINAL_STATES)[number];
      session_id?: string;
      host?: string;
      port?: number;
      host_key?: SshHostKey;
      first_use?: boolean;
      reason?: (typeof SSH_END_REASONS)[number];
      message?: string;
    }
  | { type: 'error'; code: SshErrorCode | 'bad_frame' | 'unauthorized'; message: string };
