import { describe, expect, it } from 'vitest';
import { describeAlertsRepositoryContract } from '../alerts-api/alerts.repository.contract';
import { describeAuditLogContract } from '../audit/audit-log.contract';
import { describeAuditTrailContract } from '../audit/audit-trail.contract';
import { describeJobLeasesContract } from '../cluster/job-leases.contract';
import { redactUrl } from '../logger';
import { describeRobotsRepositoryContract } from '../robots/robots.repository.contract';
import { describeUsersRepositoryContract } from '../users/users.repository.contract';
import { describeUsersServiceContract } from '../users/users.service.contract';
import { describeAlertThresholdsRepositoryContract } from './alert-thresholds.repository.contract';
import { describeDatabaseContract } from './database.contract';
import { describeMigrationsContract } from './migrate.contract';
import { openDatabase } from './open-database';
import { PostgresDatabase } from './postgres-database';
import { postgresTestDatabases } from './test-databases';

// Runs with `npm run test:services` against a real server; fails (does not skip) without TEST_DATABASE_URL.
const adminUrl = process.env.TEST_DATABASE_URL;
const open = postgresTestDatabases(adminUrl);

describe('on PostgreSQL', () => {
  describeDatabaseContract(open);
  describeMigrationsContract(open);
  describeAlertThresholdsRepositoryContract(open);
  describeUsersRepositoryContract(open);
  describeUsersServiceContract(open);
  describeAuditTrailContract(open);
  describeAuditLogContract(open);
  describeRobotsRepositoryContract(open);
  describeAlertsRepositoryContract(open);
  describeJobLeasesContract(open);

  describe('PostgresDatabase', () => {
    it('is what openDatabase returns when a URL is set', async () => {
      const db = await openDatabase({ url: adminUrl!, dataDir: '/nonexistent' });
      try {
        expect(db.kind).toBe('postgres');
        await db.ping();
      } finally {
        await db.close();
      }
    });

    it('runs statements under a 30 s statement timeout', async () => {
      const db = await open({ migrated: false });
      const { rows } = await db.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0]?.statement_timeout).toBe('30s');
    });

    it('fails to open with a message naming the server but not the password', async () => {
      const url = new URL(adminUrl!);
      url.port = '1';
      url.password = 'sup3r-secret';
      const opening = PostgresDatabase.open({ url: url.toString() });
      await expect(opening).rejects.toThrow(
        `Could not connect to PostgreSQL at ${redactUrl(url.toString())}`,
      );
      await expect(opening).rejects.not.toThrow('sup3r-secret');
    });
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('postgres://user:pw@db:5432/app')).toBe('postgres://user:***@db:5432/app');
  });
});
