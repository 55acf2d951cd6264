import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import { type Session, SessionRefused, Sessions } from '../auth/sessions';
import type { Database } from '../db/database';
import { ApiError } from '../errors';
import { capturingLogger } from '../test-fakes';
import type { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

function setup() {
  const audited: AuditEntry[] = [];
  const audit = { record: async (e: AuditEntry) => void audited.push(e) } as unknown as AuditTrail;
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) });
  const keys = new ApiKeysService({
    db: unused as Database,
    repo: unused as ApiKeysRepository,
    audit,
    logger: capturingLogger().logger,
    secret: 'test-secret',
  });
  return { keys, audited };
}

const operator: Session = {
  kind: 'user',
  sub: 'u1',
  user_id: 'u1',
  sid: 's1',
  username: 'op',
  role: 'operator',
  iat: 0,
  exp: null,
};
const origin = { actor: { type: 'user' as const, id: 'u1', name: 'op' } };

describe('ApiKeysService.create: the role ceiling', () => {
  it("refuses a key above its creator's role with 403 forbidden naming the permission, audited as denied", async () => {
    const { keys, audited } = setup();
    const err = await keys.create(operator, { name: 'too-strong', role: 'admin' }, origin).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      statusCode: 403,
      code: 'forbidden',
      details: { permission: 'api_keys:manage' },
    });
    expect(audited).toEqual([expect.objectContaining({ action: 'api_key.create', outcome: 'denied' })]);
  });
});

describe('ApiKeysService.check: an open socket of a key', () => {
  it('says "expired", not "revoked", when the key ran out before the session\'s rounded-up exp', async () => {
    const T0 = 1_800_000_000_000;
    let now = T0;
    // Expires 400 ms into a second: the session's `exp` is rounded up to the next whole second.
    const expires_at = new Date(T0 + 1400);
    const row = {
      id: 'k1',
      name: 'expiring',
      role: 'viewer',
      created_by: 'u1',
      created_at: new Date(T0),
      expires_at,
      last_used_at: null,
      revoked_at: null,
      secret_hash: 'x',
      creator_active: true,
      creator_role: 'admin',
    };
    const keys = new ApiKeysService({
      db: {} as Database,
      repo: { forAuth: async () => row } as unknown as ApiKeysRepository,
      audit: {} as AuditTrail,
      logger: capturingLogger().logger,
      secret: 'test-secret',
      now: () => now,
      cacheTtlMs: 0,
    });
    const sessions = new Sessions({ verifySignature: () => ({}), ttlS: 3600, now: () => now });
    sessions.addCheck(keys.check);
    const session: Session = {
      kind: 'api_key',
      sub: 'k1',
      sid: 'k1',
      user_id: 'u1',
      username: 'expiring',
      role: 'viewer',
      iat: T0 / 1000,
      exp: Math.ceil(expires_at.getTime() / 1000),
    };
    await sessions.recheck(session);
    // Past the key's expiry, before the session's exp (a socket's timer firing a moment early).
    now = T0 + 1500;
    const refused = await sessions.recheck(session).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SessionRefused);
    expect(refused).toMatchObject({ reason: 'expired', message: 'API key expired' });
  });
});
