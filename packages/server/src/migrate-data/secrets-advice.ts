/**
 * The secrets an embedded server keeps in DATA_DIR/secrets, which servers on PostgreSQL must be given as
 * environment variables (several instances must share them): which variable each file becomes and how to copy
 * it without showing it. The values are never read into the output.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** File in DATA_DIR/secrets → the variable that replaces it, and what is lost without it. */
export const SECRET_FILES = [
  { file: 'jwt-secret', env: 'JWT_SECRET', without: 'everyone must log in again' },
  { file: 'robot-secret-key', env: 'ROBOT_SECRET_KEY', without: "every robot's MQTT secret must be rotated" },
  {
    file: 'notification-key',
    env: 'NOTIFICATION_SECRET_KEY',
    without: "notification channels' secrets must be set again",
  },
  { file: 'secrets-key', env: 'SECRETS_KEY', without: "robots' SSH passwords and keys must be set again" },
] as const;

/**
 * Lines for the operator: a shell line per secret file present (it reads the file), and for a missing file the
 * reminder that the old server had that key from its environment, whose value the new servers need too.
 */
export function secretsAdvice(dataDir: string): string[] {
  const dir = path.resolve(dataDir, 'secrets');
  const lines = SECRET_FILES.map((s) =>
    existsSync(path.join(dir, s.file))
      ? `  ${s.env}="$(cat ${path.join(dir, s.file)})"   # without it ${s.without}`
      : `  ${s.env}: no ${s.file} in ${dir}, so the old server was given it in its environment: set the same value (without it ${s.without})`,
  );
  return [
    'Set these on every server that uses the new databases (the values are not shown here):',
    ...lines,
    'Copy them as files or into your secret store (e.g. scp, or `kubectl create secret generic … --from-file`), never through logs or chat.',
  ];
}
