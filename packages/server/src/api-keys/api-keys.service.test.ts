import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Session } from '../auth/sessions';
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
