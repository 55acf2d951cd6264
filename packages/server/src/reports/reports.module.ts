import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ReportLiveEvent } from '@tonypi/contracts';
import { defineModule } from '../core/module';
import { type AiProvider, GeminiProvider, OpenAiCompatibleProvider, ReportInsights } from './ai-insights';
import { reportCsv } from './report-csv';
import { ReportGatherer } from './report-gatherer';
import { renderReportPdf } from './report-pdf';
import { ReportRunner } from './report-runner';
import { ReportSchedulesRepository } from './report-schedules.repository';
import { reportSchedulesRoutes } from './report-schedules.routes';
import { ReportSchedulesService } from './report-schedules.service';
import { ReportsRepository } from './reports.repository';
import { reportFileName, reportsRoutes } from './reports.routes';
import { ReportsService } from './reports.service';
import { buildReport } from './sections';

declare module '../core/module' {
  interface Services {
    reports: ReportsService;
    /** Report schedules: their API, and the timer that runs the due ones. */
    reportSchedules: ReportSchedulesService;
  }
}

/**
 * Reports (issue #10): asked for through the API, generated in the background by the runner from the stores'
 * roll-ups, alerts and jobs, read in the app, exported as PDF, CSV and JSON. After the domains it reads.
 */
export const reportsModule = defineModule({
  name: 'reports',
  create(ctx) {
    const repo = new ReportsRepository(ctx.get('db'));
    const camera = ctx.get('camera');
    const events = ctx.get('events');
    const publish = (e: ReportLiveEvent) => events.publish('report.changed', e);
    const gatherer = new ReportGatherer({
      robots: ctx.get('robotRepository'),
      store: ctx.get('telemetryStore'),
      alerts: ctx.get('alertsApi'),
      jobs: ctx.get('jobs'),
      rules: ctx.get('alertRules'),
      snapshots: (robot_ids, from, to, limit) => camera.reportSnapshots(robot_ids, from, to, limit),
    });
    const ai = ctx.config.reports.ai;
    let provider: AiProvider | undefined;
    const wants = (p: 'gemini' | 'openai_compatible') => ai.provider === p || ai.provider === 'auto';
    if (wants('gemini') && ai.gemini) {
      provider = new GeminiProvider({ ...ai.gemini, timeoutMs: ai.timeoutMs });
    } else if (wants('openai_compatible') && ai.openai) {
      provider = new OpenAiCompatibleProvider({ ...ai.openai, timeoutMs: ai.timeoutMs });
    }
    // Named, never called: nothing is sent to a provider before someone asks for a report with AI.
    if (provider)
      ctx.logger.info({ provider: provider.name, model: provider.model }, 'reports: AI insights available');
    const insights = new ReportInsights(provider);
    const runner = new ReportRunner({
      insights,
      repo,
      gatherer,
      build: buildReport,
      // Stable across restarts of this installation: what it was running when it stopped is queued again.
      instance: `${hostname().slice(0, 40)}:${createHash('sha256').update(path.resolve(ctx.config.dataDir)).digest('hex').slice(0, 16)}`,
      logger: ctx.logger,
      publish,
      timeoutMs: ctx.config.reports.timeoutMs,
    });
    const reports = new ReportsService({
      repo,
      runner,
      gatherer,
      audit: ctx.get('audit'),
      publish,
      renderPdf: renderReportPdf,
      snapshotImage: (id) => camera.snapshotImage(id).catch(() => undefined),
      toCsv: reportCsv,
      aiStatus: () => insights.status(),
    });
    const notifier = ctx.get('notifier');
    const schedules = new ReportSchedulesService({
      db: ctx.get('db'),
      repo: new ReportSchedulesRepository(ctx.get('db')),
      reports: repo,
      gatherer,
      audit: ctx.get('audit'),
      publish,
      poke: () => runner.poke(),
      channelExists: (id) => notifier.channel(id) !== undefined,
      notify: (ids, notice) => notifier.notifyReport(ids, notice),
      pdf: async (id) => {
        const { row, pdf } = await reports.pdf(id);
        return { fileName: reportFileName(row, 'pdf'), content: pdf };
      },
      logger: ctx.logger,
    });
    const unsubscribe = events.subscribe('report.changed', schedules.onReportChanged);
    return {
      provides: { reports, reportSchedules: schedules },
      routes: async (app) => {
        await app.register(reportsRoutes(reports));
        await app.register(reportSchedulesRoutes(schedules));
      },
      start: () => {
        runner.start();
        schedules.start();
      },
      stop: async () => {
        unsubscribe();
        await schedules.stop();
        await runner.stop();
      },
      status: {
        health: () => ({
          reports: { running: runner.busy, ...runner.counters, schedules: schedules.counters },
        }),
        metrics: [
          {
            name: 'tonypi_reports_completed_total',
            help: 'Reports generated',
            type: 'counter',
            read: () => runner.counters.completed,
          },
          {
            name: 'tonypi_reports_failed_total',
            help: 'Reports that failed',
            type: 'counter',
            read: () => runner.counters.failed,
          },
        ],
      },
    };
  },
});
