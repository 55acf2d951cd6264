import { describe, expect, it } from 'vitest';
import { RobotCredentials } from '../robots/robot-credentials';
import { robotAuth } from './robot-auth';

function setup(allowAnonymous: boolean) {
  const creds = new RobotCredentials('k'.repeat(48));
  const { secret, hash } = creds.issue('cred');
  creds.setCredentials('cred', hash);
  return { auth: robotAuth({ access: creds, allowAnonymous }), creds, secret: Buffer.from(secret) };
}

describe('robotAuth', () => {
  it('accepts a robot with its secret, username = client id = robot id', () => {
    const { auth, secret } = setup(false);
    expect(auth.authenticate('cred', 'cred', secret)).toEqual({
      ok: true,
      identity: 'cred',
      anonymous: false,
    });
  });

  it('refuses a wrong secret, an unknown username, and a username with another client id', () => {
    const { auth, secret } = setup(true);
    expect(auth.authenticate('cred', 'cred', Buffer.from('tpr_guess'))).toEqual({
      ok: false,
      refusal: 'bad_credentials',
    });
    expect(auth.authenticate('who', 'who', secret)).toEqual({ ok: false, refusal: 'bad_credentials' });
    expect(auth.authenticate('other_robot', 'cred', secret)).toEqual({
      ok: false,
      refusal: 'client_id_mismatch',
    });
  });

  it('accepts an anonymous client as its client id only when allowed, and never as a robot with credentials', () => {
    expect(setup(true).auth.authenticate('legacy_1', undefined, undefined)).toEqual({
      ok: true,
      identity: 'legacy_1',
      anonymous: true,
    });
    expect(setup(false).auth.authenticate('legacy_1', undefined, undefined)).toEqual({
      ok: false,
      refusal: 'anonymous_refused',
    });
    expect(setup(true).auth.authenticate('cred', undefined, undefined)).toEqual({
      ok: false,
      refusal: 'credentials_required',
    });
  });

  it('refuses a deleted robot, with or without its secret, and drops what it still publishes', () => {
    const { auth, creds, secret } = setup(true);
    creds.setDeleted('cred', true);
    creds.setDeleted('anon_gone', true);
    expect(auth.authenticate('cred', 'cred', secret)).toEqual({ ok: false, refusal: 'robot_deleted' });
    expect(auth.authenticate('anon_gone', undefined, undefined)).toEqual({
      ok: false,
      refusal: 'robot_deleted',
    });
    expect(auth.mayPublish('cred', 'tonypi/cred/status')).toBe(false);
  });

  it('applies the robot ACL of contracts to publishes and subscriptions', () => {
    const { auth } = setup(true);
    expect(auth.mayPublish('cred', 'tonypi/cred/telemetry')).toBe(true);
    expect(auth.mayPublish('cred', 'tonypi/other/telemetry')).toBe(false);
    expect(auth.maySubscribe('cred', 'tonypi/cred/command')).toBe(true);
    expect(auth.maySubscribe('cred', 'tonypi/+/command')).toBe(false);
  });
});
