import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialRow } from './robot-admin.repository';

/** Robot secrets start with this, so a leaked one is recognisable (secret scanners, logs). */
export const ROBOT_SECRET_PREFIX = 'tpr_';
/** 24 random bytes: 192 bits, 32 base64url characters after the prefix. */
const SECRET_BYTES = 24;

interface Access {
  /** HMAC of "robot_id:secret"; null for a deleted robot that never had credentials. */
  hash: Buffer | null;
  deleted: boolean;
}

/**
 * Robots' MQTT credentials as the broker checks them: every robot with credentials, and every deleted robot,
 * held in memory, so a connecting robot costs one HMAC-SHA256 (a few microseconds) and no database read.
 * Secrets are random (not people's passwords), so a fast keyed hash is enough: guessing one is 2^192 work,
 * and the key (DATA_DIR, not the database) keeps a stolen table useless. The database is the record: the
 * cache is filled from it at start and changed only after a change there was committed.
 */
export class RobotCredentials {
  private readonly access = new Map<string, Access>();

  constructor(private readonly key: string | Buffer) {}

  load(rows: readonly CredentialRow[]): void {
    this.access.clear();
    for (const row of rows) {
      this.access.set(row.robot_id, {
        hash: row.secret_hash === null ? null : Buffer.from(row.secret_hash, 'hex'),
        deleted: row.deleted,
      });
    }
  }

  /** A fresh secret for the robot and the hash to store; the secret is shown once and kept nowhere. */
  issue(robot_id: string): { secret: string; hash: string } {
    const secret = ROBOT_SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
    return { secret, hash: this.digest(robot_id, Buffer.from(secret)).toString('hex') };
  }

  /** Whether `password` is the robot's secret (constant-time compare), and the robot not deleted. */
  verify(robot_id: string, password: Buffer | undefined): boolean {
    const entry = this.access.get(robot_id);
    // Computed whatever the entry: an unknown robot answers no faster than a known one.
    const given = this.digest(robot_id, password ?? Buffer.alloc(0));
    if (!entry?.hash || entry.deleted || password === undefined) return false;
    return timingSafeEqual(given, entry.hash);
  }

  hasCredentials(robot_id: string): boolean {
    return this.access.get(robot_id)?.hash != null;
  }

  isDeleted(robot_id: string): boolean {
    return this.access.get(robot_id)?.deleted === true;
  }

  /** After a committed registration, claim or rotation. */
  setCredentials(robot_id: string, hashHex: string): void {
    const entry = this.access.get(robot_id);
    this.access.set(robot_id, { hash: Buffer.from(hashHex, 'hex'), deleted: entry?.deleted ?? false });
  }

  /** After a committed delete or restore. */
  setDeleted(robot_id: string, deleted: boolean): void {
    const entry = this.access.get(robot_id);
    if (!deleted && !entry?.hash) this.access.delete(robot_id);
    else this.access.set(robot_id, { hash: entry?.hash ?? null, deleted });
  }

  /** Robots with credentials (deleted ones included). */
  get credentialed(): number {
    let n = 0;
    for (const entry of this.access.values()) if (entry.hash) n++;
    return n;
  }

  private digest(robot_id: string, secret: Buffer): Buffer {
    return createHmac('sha256', this.key).update(`${robot_id}:`).update(secret).digest();
  }
}
