import { defineModule } from '../core/module';
import { JobRecorder } from './job-recorder';
import { JobsRepository } from './jobs.repository';
import { jobsRoutes } from './jobs.routes';
import { JobsService } from './jobs.service';

declare module '../core/module' {
  interface Services {
    /** Writes the robots' job messages and scans (queued, off the ingest path); the items module answers scans. */
    jobRecorder: JobRecorder;
    /** Reads jobs and their figures (the API's service; reports read the period's jobs through it). */
    jobs: JobsService;
  }
}

/**
 * Jobs and scan events (issue #7 §2, §4): before `broker` in the list, so it sees every job and scan message;
 * the item catalogue (after `broker`: it answers robots) plugs its scan lookup into the recorder.
 */
export const jobsModule = defineModule({
  name: 'jobs',
  create(ctx) {
    const db = ctx.get('db');
    const repo = new JobsRepository(db);
    const recorder = new JobRecorder({ db, repo, logger: ctx.logger });
    const unfollow = recorder.follow(ctx.get('events'));
    const service = new JobsService(repo, ctx.get('registry'));
    return {
      provides: { jobRecorder: recorder, jobs: service },
      routes: jobsRoutes(service),
      start: () => recorder.start(),
      stop: async () => {
        unfollow();
        await recorder.stop();
      },
      status: {
        metrics: [
          {
            name: 'tonypi_jobs_queue_depth',
            help: 'Job and scan messages waiting to be written',
            type: 'gauge',
            read: () => recorder.queued,
          },
          {
            name: 'tonypi_jobs_messages_total',
            help: 'Job and scan messages taken in, by kind (coalesced: progress folded into a waiting one)',
            type: 'counter',
            labelNames: ['kind'],
            read: () => [
              { labels: { kind: 'job' }, value: recorder.counters.job_messages },
              { labels: { kind: 'scan' }, value: recorder.counters.scans },
              { labels: { kind: 'coalesced' }, value: recorder.counters.coalesced },
            ],
          },
          {
            name: 'tonypi_jobs_messages_not_recorded_total',
            help: 'Job and scan messages that changed nothing, by reason (late progress, a repeated end, shed, write failed)',
            type: 'counter',
            labelNames: ['reason'],
            read: () =>
              Object.entries(recorder.ignoredCounts()).map(([reason, value]) => ({
                labels: { reason },
                value,
              })),
          },
        ],
      },
    };
  },
});
