import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queryable } from '../db/database';

/**
 * Leases on periodic jobs in the relational database (`job_leases`), so that with several server instances on
 * one database a job that touches shared data runs on one of them per period: `acquire` takes a free or lapsed
 * lease, or renews the one this instance holds, in one conditional upsert. A holder that crashes stops
 * renewing; its lease lapses after `ttlMs` and another instance takes the job over.
 */
export class JobLeases {
  /** This instance, as `job_leases.holder` shows it. */
  readonly holder = `${hostname().slice(0, 40)}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly db: Queryable,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this instance holds `name`'s lease for the next `ttlMs` (taken, or renewed). */
  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const { rows } = await this.db.query<{ holder: string }>(
      `INSERT INTO job_leases (name, holder, expires_at, acquired_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
         acquired_at = CASE WHEN job_leases.holder = EXCLUDED.holder THEN job_leases.acquired_at
                            ELSE EXCLUDED.acquired_at END
       WHERE job_leases.holder = EXCLUDED.holder OR job_leases.expires_at <= $4
       RETURNING holder`,
      [name, this.holder, new Date(now + ttlMs).toISOString(), new Date(now).toISOString()],
    );
    return rows[0]?.holder === this.holder;
  }

  /** Gives `name` up at once (a clean stop), so another instance need not wait for it to lapse. */
  async release(name: string): Promise<void> {
    await this.db.query('DELETE FROM job_leases WHERE name = $1 AND holder = $2', [name, this.holder]);
  }

  /** Who holds `name` now, if anyone (health, tests). */
  async holderOf(name: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ holder: string }>(
      'SELECT holder FROM job_leases WHERE name = $1 AND expires_at > $2',
      [name, new Date(this.now()).toISOString()],
    );
    return rows[0]?.holder;
  }
}
