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

/** Lines for the operator: one per secret file present, with a shell line that reads the file. */
export function secretsAdvice(dataDir: string): string[] {
  const present = SECRET_FILES.filter((s) => existsSync(path.join(dataDir, 'secrets', s.file)));
  if (present.length === 0) return [];
  const dir = path.resolve(dataDir, 'secrets');
  return [
    'Set these on every server that uses the new databases (the values are the files, not shown here):',
    ...present.map((s) => `  ${s.env}="$(cat ${path.join(dir, s.file)})"   # without it ${s.without}`),
    'Copy them as files or into your secret store (e.g. scp, or `kubectl create secret generic … --from-file`), never through logs or chat.',
  ];
}
