import { describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../db/test-databases';
import { JobLeases } from './job-leases';

/** JobLeases against a database engine: PGlite here, PostgreSQL in the services suite. */
export function describeJobLeasesContract(open: OpenTestDatabase): void {
  let clock = Date.parse('2026-12-03T10:00:00Z');
  const now = () => clock;

  describe('job leases', () => {
    it('lets one instance hold a job per period, renews it for its holder, and hands it over once it lapses', async () => {
      const db = await open();
      const a = new JobLeases(db, now);
      const b = new JobLeases(db, now);
      expect(a.holder).not.toBe(b.holder);
      expect(await a.acquire('roll-ups', 60_000)).toBe(true);
      expect(await b.acquire('roll-ups', 60_000)).toBe(false);
      expect(await a.holderOf('roll-ups')).toBe(a.holder);
      clock += 50_000;
      // The holder renews before it lapses: B still waits.
      expect(await a.acquire('roll-ups', 60_000)).toBe(true);
      clock += 50_000;
      expect(await b.acquire('roll-ups', 60_000)).toBe(false);
      // A stops renewing (a crash): once the lease lapses, B takes the job over, and A no longer has it.
      clock += 61_000;
      expect(await a.holderOf('roll-ups')).toBeUndefined();
      expect(await b.acquire('roll-ups', 60_000)).toBe(true);
      expect(await a.acquire('roll-ups', 60_000)).toBe(false);
      // Other jobs are leased apart.
      expect(await a.acquire('retention', 60_000)).toBe(true);
    });

    it('gives a lease up on release, so another instance need not wait', async () => {
      const db = await open();
      const a = new JobLeases(db, now);
      const b = new JobLeases(db, now);
      expect(await a.acquire('handover', 3_600_000)).toBe(true);
      await b.release('handover'); // not the holder: nothing happens
      expect(await b.acquire('handover', 3_600_000)).toBe(false);
      await a.release('handover');
      expect(await b.acquire('handover', 3_600_000)).toBe(true);
    });

    it('takes a lease for exactly one of many instances trying at once', async () => {
      const db = await open();
      const many = Array.from({ length: 8 }, () => new JobLeases(db, now));
      const won = await Promise.all(many.map((l) => l.acquire('race', 60_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    });
  });
}
