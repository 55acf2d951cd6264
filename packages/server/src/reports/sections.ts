import type { ReportDocument, ReportSection, ReportSectionKey, ReportStatement } from '@tonypi/contracts';
import { iso } from './report-format';
import type { ReportInput } from './report-input';
import { alertsSection } from './section-alerts';
import { anomaliesSection } from './section-anomalies';
import { availabilitySection } from './section-availability';
import { batterySection } from './section-battery';
import { type Candidate, Context, SEVERITY_RANK } from './section-context';
import { jobsSection } from './section-jobs';
import { performanceSection } from './section-performance';
import { servosSection } from './section-servos';

/**
 * A ReportInput → a ReportDocument: one builder per section key (section-*.ts), each writing statements (every
 * one with its figure, unit, period, robot and a severity taken from the alert rules' levels), tables and
 * charts, then the summary picked from all of them. Pure: the same input gives the same document.
 */

const SUMMARY_MAX = 8;
const SUMMARY_PER_SECTION = 3;

const BUILDERS: Record<ReportSectionKey, (ctx: Context) => ReportSection> = {
  availability: availabilitySection,
  performance: performanceSection,
  battery: batterySection,
  servos: servosSection,
  jobs: jobsSection,
  alerts: alertsSection,
  anomalies: anomaliesSection,
};

const LIST_MAX = 5;

/** Candidates of one group and severity, two or more, become one statement listing them. */
function mergeGroups(candidates: readonly Candidate[]): Candidate[] {
  const groups = new Map<string, Candidate[]>();
  const out: Candidate[] = [];
  for (const c of candidates) {
    if (!c.group) {
      out.push(c);
      continue;
    }
    const key = `${c.group.key}:${c.statement.severity}`;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  for (const members of groups.values()) {
    const first = members[0]!;
    if (members.length === 1) {
      out.push(first);
      continue;
    }
    const items = members.map((m) => m.group!.item);
    const list =
      items.length > LIST_MAX
        ? `${items.slice(0, LIST_MAX).join(', ')} and ${items.length - LIST_MAX} more`
        : items.join(', ');
    const robots = new Set(members.map((m) => m.statement.robot_id));
    out.push({
      statement: {
        text: first.group!.text(members.length, list),
        figure: members.length,
        unit: first.group!.unit,
        from: members.map((m) => m.statement.from).sort()[0]!,
        to: members
          .map((m) => m.statement.to)
          .sort()
          .at(-1)!,
        robot_id: robots.size === 1 ? first.statement.robot_id : null,
        severity: first.statement.severity,
      },
      section: first.section,
      priority: Math.max(...members.map((m) => m.priority)),
      order: first.order,
    });
  }
  return out;
}

/** The summary: critical first, then warning, then the headline figures; at most 3 from one section, ≤ 8. */
function pickSummary(all: readonly Candidate[]): ReportStatement[] {
  const candidates = mergeGroups(all);
  const sorted = [...candidates].sort(
    (a, b) =>
      SEVERITY_RANK[b.statement.severity] - SEVERITY_RANK[a.statement.severity] ||
      b.priority - a.priority ||
      a.order - b.order,
  );
  const picked: Candidate[] = [];
  const perSection = new Map<ReportSectionKey, number>();
  for (const c of sorted) {
    if (picked.length >= SUMMARY_MAX) break;
    const n = perSection.get(c.section) ?? 0;
    if (n >= SUMMARY_PER_SECTION) continue;
    perSection.set(c.section, n + 1);
    picked.push(c);
  }
  for (const c of sorted) {
    if (picked.length >= SUMMARY_MAX) break;
    if (!picked.includes(c)) picked.push(c);
  }
  return picked
    .sort(
      (a, b) =>
        SEVERITY_RANK[b.statement.severity] - SEVERITY_RANK[a.statement.severity] ||
        b.priority - a.priority ||
        a.order - b.order,
    )
    .map((c) => c.statement);
}

export function buildReport(input: ReportInput): ReportDocument {
  const ctx = new Context(input);
  const sections = input.sections.map((key) => BUILDERS[key](ctx));
  return {
    title: input.title,
    kind: input.kind,
    scope: { robot_id: input.scope.robot_id, tag: input.scope.tag, robots: ctx.robots },
    from: ctx.fromIso,
    to: ctx.toIso,
    generated_at: iso(input.generated_at),
    summary: pickSummary(ctx.candidates),
    sections,
    ai: null,
    ai_note: null,
    snapshots: input.snapshots ?? [],
  };
}
