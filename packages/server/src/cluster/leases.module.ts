import { defineModule } from '../core/module';
import { JobLeases } from './job-leases';

declare module '../core/module' {
  interface Services {
    /** Leases on periodic jobs, so that several instances on one database run each once per period. */
    jobLeases: JobLeases;
  }
}

/** Job leases in the relational database (`job_leases`), for the periodic jobs of shared data. */
export const leasesModule = defineModule({
  name: 'job-leases',
  create(ctx) {
    return { provides: { jobLeases: new JobLeases(ctx.get('db')) } };
  },
});
