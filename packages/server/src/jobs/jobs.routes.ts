import {
  CurrentJob,
  ErrorBody,
  JobDetail,
  JobIdParams,
  JobList,
  JobQuery,
  JobStats,
  JobStatsQuery,
  RobotIdParams,
  ScanList,
  ScanQuery,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { JobsService } from './jobs.service';

export function jobsRoutes(jobs: JobsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/jobs',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['jobs'],
          summary: 'Jobs, newest first',
          description:
            "Made and updated from the robots' job messages (both protocols). Filter by robot, status and start " +
            'time; page with limit and cursor (the previous page’s next_cursor). A job a newer one of the same ' +
            'robot replaced is cancelled with cancel_reason "superseded" and superseded_by.',
          querystring: JobQuery,
          response: { 200: JobList, 400: ErrorBody },
        },
      },
      async (req) => jobs.list(req.query),
    );

    app.get(
      '/jobs/stats',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['jobs'],
          summary: 'Job figures per robot and for the fleet over a range',
          description:
            'Over the jobs started in [from, to] (default: the last 7 days): counts by status, success rate ' +
            '(completed successfully ÷ ended), average and median duration and items per hour of the ended jobs.',
          querystring: JobStatsQuery,
          response: { 200: JobStats, 400: ErrorBody },
        },
      },
      async (req) => jobs.stats(req.query),
    );

    app.get(
      '/jobs/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['jobs'],
          summary: 'One job with its item history',
          description: 'The history is the scans counted into the job while it was active, oldest first.',
          params: JobIdParams,
          response: { 200: JobDetail, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => jobs.get(req.params.id),
    );

    app.get(
      '/robots/:robot_id/jobs/current',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['jobs'],
          summary: "A robot's current job: the active one, else its latest, else status idle",
          description:
            'With its item history, as GET /jobs/{id}. 404 robot_not_found for a robot the server does not know.',
          params: RobotIdParams,
          response: { 200: CurrentJob, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => jobs.current(req.params.robot_id),
    );

    app.get(
      '/scans',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['items'],
          summary: 'Scans the robots reported, newest first',
          description:
            'Each with whether the catalogue knew the code, the item, station and action, and the job it was ' +
            'counted into. Filter by robot, code, found, job and time; page with limit and cursor.',
          querystring: ScanQuery,
          response: { 200: ScanList, 400: ErrorBody },
        },
      },
      async (req) => jobs.scans(req.query),
    );
  };
}
