import { describe, expect, it } from 'vitest';
import { RobotCredentials } from './robot-credentials';

const KEY = 'k'.repeat(48);

describe('RobotCredentials', () => {
  it('issues 192-bit secrets and checks only the issued one, for its own robot', () => {
    const creds = new RobotCredentials(KEY);
    const { secret, hash } = creds.issue('r1');
    expect(secret).toMatch(/^tpr_[A-Za-z0-9_-]{32}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    creds.setCredentials('r1', hash);
    expect(creds.verify('r1', Buffer.from(secret))).toBe(true);
    expect(creds.verify('r1', Buffer.from(`${secret}x`))).toBe(false);
    expect(creds.verify('r1', undefined)).toBe(false);
    // The hash binds the robot id: the same secret is not another robot's.
    creds.setCredentials('r2', hash);
    expect(creds.verify('r2', Buffer.from(secret))).toBe(false);
    expect(creds.verify('nobody', Buffer.from(secret))).toBe(false);
  });

  it('depends on the server key: the same secret under another key does not verify', () => {
    const a = new RobotCredentials(KEY);
    const b = new RobotCredentials('x'.repeat(48));
    const { secret, hash } = a.issue('r1');
    b.setCredentials('r1', hash);
    expect(b.verify('r1', Buffer.from(secret))).toBe(false);
  });

  it('refuses a deleted robot until it is restored, and keeps its credentials meanwhile', () => {
    const creds = new RobotCredentials(KEY);
    const { secret, hash } = creds.issue('r1');
    creds.load([
      { robot_id: 'r1', secret_hash: hash, deleted: false },
      { robot_id: 'gone', secret_hash: null, deleted: true },
    ]);
    expect(creds.isDeleted('gone')).toBe(true);
    expect(creds.hasCredentials('gone')).toBe(false);
    creds.setDeleted('r1', true);
    expect(creds.verify('r1', Buffer.from(secret))).toBe(false);
    expect(creds.hasCredentials('r1')).toBe(true);
    creds.setDeleted('r1', false);
    expect(creds.verify('r1', Buffer.from(secret))).toBe(true);
    creds.setDeleted('gone', false);
    expect(creds.isDeleted('gone')).toBe(false);
  });

  it('stops accepting the old secret once rotated', () => {
    const creds = new RobotCredentials(KEY);
    const first = creds.issue('r1');
    creds.setCredentials('r1', first.hash);
    const second = creds.issue('r1');
    creds.setCredentials('r1', second.hash);
    expect(creds.verify('r1', Buffer.from(first.secret))).toBe(false);
    expect(creds.verify('r1', Buffer.from(second.secret))).toBe(true);
  });
});
