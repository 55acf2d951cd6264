/** A silence as the engine checks it: a scope and a window, epoch ms. */
export interface SilenceWindow {
  id: number;
  /** Null: every robot. */
  robot_id: string | null;
  /** Null: every rule, and the alerts no rule raises (offline, emergency stop, faults). */
  rule_id: number | null;
  starts_at: number;
  ends_at: number;
}

/** The silences that have not ended: asked only when an alert is raised or escalated, never per point. */
export class SilenceTable {
  constructor(private readonly windows: readonly SilenceWindow[]) {}

  /** Whether an alert of this robot (and rule, if a rule raises it) raised at `at` is muted. */
  mutes(robot_id: string | null, rule_id: number | null, at: number): boolean {
    for (const s of this.windows) {
      if (at < s.starts_at || at >= s.ends_at) continue;
      if (s.robot_id !== null && s.robot_id !== robot_id) continue;
      if (s.rule_id !== null && s.rule_id !== rule_id) continue;
      return true;
    }
    return false;
  }

  get size(): number {
    return this.windows.length;
  }
}
