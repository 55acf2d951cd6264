import type { Logger } from '../logger';
import type { AlertRulesRepository } from './alert-rules.repository';
import { RuleTable } from './rule-table';
import { SilenceTable } from './silence-table';

/**
 * Rules and silences in memory for the engine: loaded at start, reloaded after every change made through
 * this server's API and periodically (another server's changes). A reload builds new tables and swaps them
 * in; evaluation never waits for one.
 */
export class AlertConfigCache {
  private ruleTable = new RuleTable([]);
  private silenceTable = new SilenceTable([]);
  private loading: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  readonly counters = { reloads: 0, reload_errors: 0 };

  constructor(
    private readonly repo: AlertRulesRepository,
    private readonly logger: Logger,
    /** Called after each successful reload (the engine resolves alerts of rules that went away). */
    private readonly onChange: () => void = () => {},
  ) {}

  get rules(): RuleTable {
    return this.ruleTable;
  }

  get silences(): SilenceTable {
    return this.silenceTable;
  }

  /**
   * Reloads both. A call during a reload gets the one after it (the running one may have read the tables
   * before the caller's change); calls during that wait share it.
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.next ??= this.loading.then(() => {
        this.next = null;
        return this.reload();
      });
      return this.next;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** The periodic refresh: reloads only when the tables changed since the last load (another server's change). */
  async refreshIfChanged(): Promise<void> {
    if (this.loading) return;
    try {
      if ((await this.repo.fingerprint()) === this.loadedFingerprint) return;
    } catch (err) {
      this.counters.reload_errors++;
      this.logger.error({ err }, 'alert rules: change check failed');
      return;
    }
    await this.reload();
  }

  private loadedFingerprint = '';

  private async load(): Promise<void> {
    try {
      // The digest first: a change made while the tables are read shows at the next refresh.
      const fingerprint = await this.repo.fingerprint();
      const [rules, silences] = await Promise.all([this.repo.listRules(), this.repo.listSilences()]);
      this.loadedFingerprint = fingerprint;
      this.ruleTable = new RuleTable(rules);
      this.silenceTable = new SilenceTable(
        silences.map((s) => ({
          id: s.id,
          robot_id: s.robot_id,
          rule_id: s.rule_id,
          starts_at: s.starts_at.getTime(),
          ends_at: s.ends_at.getTime(),
        })),
      );
      this.counters.reloads++;
      this.onChange();
    } catch (err) {
      this.counters.reload_errors++;
      this.logger.error({ err }, 'alert rules: reload failed (the previous rules stay in force)');
    }
  }
}
