import type { ReportDocument, ReportLiveEvent } from '@tonypi/contracts';
import type { Logger } from '../logger';
import type { ReportInsights } from './ai-insights';
import type { ReportGatherer } from './report-gatherer';
import type { ReportInput } from './report-input';
import type { ReportRow, ReportsRepository } from './reports.repository';

export interface ReportRunnerOptions {
  repo: ReportsRepository;
  gatherer: Pick<ReportGatherer, 'gather'>;
  /** AI insights for reports that ask for them (a provider, or none configured). */
  insights?: Pick<ReportInsights, 'insights' | 'provider'>;
  /** The analysis: figures, statements, tables and charts from the gathered input. */
  build: (input: ReportInput) => ReportDocument | Promise<ReportDocument>;
  /** This server instance, as `claimed_by` records it. */
  instance: string;
  logger: Logger;
  publish: (event: ReportLiveEvent) => void;
  /** A report still running after this long fails (`timed out`). */
  timeoutMs: number;
  /** How often the queue is looked at without a poke (reports another instance queued). */
  pollMs?: number;
}

/** Progress is written (and published) at most this often. */
const PROGRESS_EVERY_MS = 300;

class Cancelled extends Error {}

/**
 * Runs queued reports in the background, one at a time on this instance, off the request that asked: claims
 * the oldest queued one, gathers its input with progress, builds the document, stores it. A report cancelled
 * meanwhile (here or on another instance) stops at the next step; one that takes too long fails. Stopping the
 * server puts a running report back in the queue.
 */
export class ReportRunner {
  readonly counters = { completed: 0, failed: 0, cancelled: 0 };
  private timer: ReturnType<typeof setInterval> | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly running = new Map<number, AbortController>();

  constructor(private readonly opts: ReportRunnerOptions) {}

  async start(): Promise<void> {
    const n = await this.opts.repo.requeueOwn(this.opts.instance);
    if (n > 0) this.opts.logger.info({ reports: n }, 'reports interrupted by the last stop queued again');
    this.timer = setInterval(() => this.poke(), this.opts.pollMs ?? 5000);
    this.timer.unref?.();
    this.poke();
  }

  /** Looks at the queue now (a report was just queued). */
  poke(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /** Stops a report this instance runs (the row is already `cancelled`). */
  abort(id: number): void {
    this.running.get(id)?.abort(new Cancelled('cancelled'));
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const c of this.running.values()) c.abort(new Error('server stopping'));
    await this.draining;
    await this.opts.repo.requeueOwn(this.opts.instance).catch(() => 0);
  }

  /** Resolves once the queue is empty (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      let row: ReportRow | undefined;
      try {
        row = await this.opts.repo.claimNext(this.opts.instance);
      } catch (err) {
        this.opts.logger.error({ err }, 'report queue could not be read');
        return;
      }
      if (!row) return;
      await this.run(row);
    }
  }

  private async run(row: ReportRow): Promise<void> {
    const { repo, logger } = this.opts;
    const control = new AbortController();
    this.running.set(row.id, control);
    const timeout = setTimeout(
      () => control.abort(new Error(`timed out after ${Math.round(this.opts.timeoutMs / 1000)} s`)),
      this.opts.timeoutMs,
    );
    const started = performance.now();
    this.opts.publish({ report_id: row.id, status: 'running', progress: 0, error: null });
    let lastProgress = 0;
    const onProgress = async (share: number) => {
      const now = performance.now();
      if (now - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = now;
      // Gathering is most of the work; building and storing the rest.
      const progress = Math.min(0.9, share * 0.9);
      if (!(await repo.progress(row.id, progress))) control.abort(new Cancelled('cancelled'));
      else this.opts.publish({ report_id: row.id, status: 'running', progress, error: null });
    };
    try {
      const input = await this.opts.gatherer.gather(
        {
          kind: row.report_type,
          sections: row.sections,
          title: row.title,
          robot_id: row.robot_id,
          tag: row.tag,
          from: row.from_at.getTime(),
          to: row.to_at.getTime(),
        },
        onProgress,
        control.signal,
      );
      control.signal.throwIfAborted();
      const gathered = performance.now();
      const doc = await this.opts.build(input);
      const built = performance.now();
      control.signal.throwIfAborted();
      let ai: { model: string; tokens_in: number | null; tokens_out: number | null } | null = null;
      if (row.want_ai) {
        await repo.progress(row.id, 0.92);
        this.opts.publish({ report_id: row.id, status: 'running', progress: 0.92, error: null });
        const provider = this.opts.insights?.provider;
        const answer = provider
          ? await this.opts.insights?.insights(doc, control.signal)
          : { error: 'no provider configured' };
        if (answer && 'ai' in answer) {
          doc.ai = answer.ai;
          doc.ai_note = null;
          ai = {
            model: `${answer.ai.provider}/${answer.ai.model}`.slice(0, 100),
            tokens_in: answer.tokens_in,
            tokens_out: answer.tokens_out,
          };
        } else if (!provider) {
          doc.ai_note =
            'No AI provider is configured (GEMINI_API_KEY, or LLM_BASE_URL for an OpenAI-compatible model): the ' +
            "built-in analysis wrote this report's findings.";
        } else {
          doc.ai_note = `The AI insights failed (${answer?.error ?? 'no answer'}): the built-in analysis wrote this report's findings.`;
        }
      }
      control.signal.throwIfAborted();
      const done = await repo.complete(row.id, doc, ai);
      if (!done) throw new Cancelled('cancelled');
      this.counters.completed++;
      this.opts.publish({ report_id: row.id, status: 'completed', progress: 1, error: null });
      logger.info(
        {
          report_id: row.id,
          kind: row.report_type,
          robots: input.robots.length,
          series: input.series.length,
          gather_ms: Math.round(gathered - started),
          build_ms: Math.round(built - gathered),
          ms: Math.round(performance.now() - started),
        },
        'report completed',
      );
    } catch (err) {
      const reason = control.signal.aborted ? control.signal.reason : err;
      if (reason instanceof Cancelled) {
        this.counters.cancelled++;
        this.opts.publish({ report_id: row.id, status: 'cancelled', progress: 0, error: null });
        logger.info({ report_id: row.id }, 'report cancelled');
      } else if (this.stopped) {
        // Put back in the queue by stop().
      } else {
        const message = (reason as Error)?.message ?? String(reason);
        logger.error({ err: reason, report_id: row.id }, 'report failed');
        this.counters.failed++;
        await repo.fail(row.id, message).catch(() => undefined);
        this.opts.publish({ report_id: row.id, status: 'failed', progress: 0, error: message });
      }
    } finally {
      clearTimeout(timeout);
      this.running.delete(row.id);
    }
  }
}
