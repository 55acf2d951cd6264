import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A server secret: the configured value when set (required for several instances), otherwise one generated on
 * first start and kept in DATA_DIR/secrets/<name> (mode 0600), so it survives restarts.
 */
async function loadSecret(name: string, configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'secrets', name);
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(48).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** The JWT signing secret: JWT_SECRET, or DATA_DIR/secrets/jwt-secret. */
export function loadJwtSecret(configured: string | undefined, dataDir: string): Promise<string> {
  return loadSecret('jwt-secret', configured, dataDir);
}

/**
 * The key robot secrets are hashed with (HMAC-SHA256): ROBOT_SECRET_KEY, or DATA_DIR/secrets/robot-secret-key.
 * A key of its own, not one derived from the JWT secret: rotating JWT_SECRET (which signs people's sessions)
 * must not invalidate every robot's credentials, nor the other way round. Losing it invalidates every robot
 * secret (rotate them).
 */
export function loadRobotSecretKey(configured: string | undefined, dataDir: string): Promise<string> {
  return loadSecret('robot-secret-key', configured, dataDir);
}

/**
 * The key notification channels' secrets (webhook signing secrets and header values, SMTP passwords) are
 * encrypted with: NOTIFICATION_SECRET_KEY, or DATA_DIR/secrets/notification-key. Those secrets must be read
 * back to be used, so they are sealed, not hashed; the key lives outside the database. Losing it makes the
 * stored secrets unreadable (set them again).
 */
export function loadNotificationSecretKey(configured: string | undefined, dataDir: string): Promise<string> {
  return loadSecret('notification-key', configured, dataDir);
}

/**
 * The key robots' SSH settings (passwords, private keys) are sealed with: SECRETS_KEY, or DATA_DIR/secrets/secrets-key.
 * Losing it makes the stored SSH secrets unreadable (set them again); the host keys pinned stay.
 */
export function loadSecretsKey(configured: string | undefined, dataDir: string): Promise<string> {
  return loadSecret('secrets-key', configured, dataDir);
}
