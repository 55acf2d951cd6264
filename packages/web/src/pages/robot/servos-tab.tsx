import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { AlertRuleListItem, Robot } from '../../api/types';
import { Card, cx, EmptyState } from '../../components/ui';
import { formatValue } from '../../lib/format';
import { windowFromParams } from '../../lib/telemetry';
import { useLive, useLiveTelemetry } from '../../live/live-context';
import { MetricChart, useRobotRules, WindowPicker } from './monitoring-tab';
import { type FigureServo, ServoFigure, servoName } from './servo-figure';
import { type RuleState, ruleState, STATE_LABEL, STATE_TEXT, servoRules } from './servo-rules';

const COLUMNS = [
  { field: 'position', label: 'Position' },
  { field: 'temperature_c', label: 'Temperature' },
  { field: 'voltage_v', label: 'Voltage' },
  { field: 'load_percent', label: 'Load' },
] as const;

const byId = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

/** The servo ids the robot reported (its latest values) or the stream brought, as one sortable string. */
function useServoIds(robot: Robot): string[] {
  const live = useLive((s) => {
    const ids: string[] = [];
    for (const key of s.get(robot.robot_id)?.series.keys() ?? [])
      if (key.startsWith('servos:')) ids.push(key.slice(7));
    return ids.sort(byId).join(',');
  });
  return useMemo(() => {
    const all = new Set([...Object.keys(robot.latest.servos), ...(live ? live.split(',') : [])]);
    return [...all].sort(byId);
  }, [robot.latest.servos, live]);
}

function useServoValue(robot: Robot, id: string, field: string): number | undefined {
  const live = useLive((s) => s.value(robot.robot_id, 'servos', field, id));
  return live ?? robot.latest.servos[id]?.fields[field];
}

function ValueCell({
  robot,
  id,
  field,
  rules,
}: {
  robot: Robot;
  id: string;
  field: string;
  rules: readonly AlertRuleListItem[] | undefined;
}) {
  const value = useServoValue(robot, id, field);
  const state = ruleState(servoRules(rules, id, field), value);
  return (
    <td
      className={cx(
        'px-2 py-2 text-right tabular-nums',
        STATE_TEXT[state],
        state !== 'ok' && 'font-semibold',
      )}
      data-testid={`servo-${id}-${field}`}
      data-state={state}
    >
      {formatValue(field, value)}
      {(state === 'warning' || state === 'critical') && (
        <span className="sr-only"> ({STATE_LABEL[state]})</span>
      )}
      {(state === 'warning' || state === 'critical') && (
        <span aria-hidden className="ml-1 text-xs">
          {state === 'critical' ? '▲▲' : '▲'}
        </span>
      )}
    </td>
  );
}

/** One figure marker's temperature and state (a component each, so a frame re-renders only its servo). */
function useFigureServo(
  robot: Robot,
  id: string,
  rules: readonly AlertRuleListItem[] | undefined,
): { state: RuleState; temperature: string } {
  const t = useServoValue(robot, id, 'temperature_c');
  return {
    state: ruleState(servoRules(rules, id, 'temperature_c'), t),
    temperature: formatValue('temperature_c', t),
  };
}

function Figure({
  robot,
  ids,
  rules,
  selected,
  onSelect,
}: {
  robot: Robot;
  ids: readonly string[];
  rules: readonly AlertRuleListItem[] | undefined;
  selected?: string;
  onSelect: (id: string) => void;
}) {
  // Every servo's temperature as one string: the figure re-renders when one of them changes.
  const key = useLive((s) =>
    ids.map((id) => s.value(robot.robot_id, 'servos', 'temperature_c', id) ?? '').join(','),
  );
  const servos: FigureServo[] = useMemo(() => {
    const live = key.split(',');
    return ids.map((id, i) => {
      const t = live[i] ? Number(live[i]) : robot.latest.servos[id]?.fields.temperature_c;
      return {
        id,
        state: ruleState(servoRules(rules, id, 'temperature_c'), t),
        temperature: formatValue('temperature_c', t),
      };
    });
  }, [key, ids, rules, robot.latest.servos]);
  return <ServoFigure servos={servos} selected={selected} onSelect={onSelect} />;
}

function ServoRow({
  robot,
  id,
  rules,
  selected,
  onSelect,
}: {
  robot: Robot;
  id: string;
  rules: readonly AlertRuleListItem[] | undefined;
  selected: boolean;
  onSelect: () => void;
}) {
  const { state } = useFigureServo(robot, id, rules);
  return (
    <tr className={cx(selected && 'bg-teal-50 dark:bg-teal-950/50')} data-testid={`servo-row-${id}`}>
      <th scope="row" className="px-2 py-1 text-left font-normal">
        <button
          type="button"
          aria-pressed={selected}
          onClick={onSelect}
          className="rounded px-1 py-1 text-left hover:underline"
        >
          <span className="font-medium">
            {id} · {servoName(id)}
          </span>
          <span className="sr-only">, temperature {STATE_LABEL[state]}; show its history</span>
        </button>
      </th>
      {COLUMNS.map((c) => (
        <ValueCell key={c.field} robot={robot} id={id} field={c.field} rules={rules} />
      ))}
    </tr>
  );
}

const HISTORY_FIELDS = {
  position: ['position', 'target_position'],
  temperature: ['temperature_c'],
  power: ['voltage_v', 'load_percent'],
} as const;

export function ServosTab({ robot }: { robot: Robot }) {
  useLiveTelemetry({ robots: [robot.robot_id] });
  const [params, setParams] = useSearchParams();
  const ids = useServoIds(robot);
  const rules = useRobotRules(robot.robot_id).data?.items;
  const window = useMemo(() => windowFromParams(params), [params]);
  const selected = params.get('servo') ?? undefined;
  const select = (id: string) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      if (next.get('servo') === id) next.delete('servo');
      else next.set('servo', id);
      return next;
    });
  const zoom = (r: { from: number; to: number }) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      next.delete('range');
      next.set('from', String(r.from));
      next.set('to', String(r.to));
      return next;
    });

  if (ids.length === 0)
    return (
      <EmptyState title="No servo values yet">
        This robot has not reported its servos. They appear here as soon as it does.
      </EmptyState>
    );
  return (
    <div className="space-y-4">
      <div className="grid gap-4 lg:grid-cols-[minmax(0,16rem)_minmax(0,1fr)]">
        <Card className="p-4">
          <h2 className="mb-2 font-medium">On the body</h2>
          <Figure robot={robot} ids={ids} rules={rules} selected={selected} onSelect={select} />
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            Coloured by temperature against this robot's rules: teal normal, amber warning, red critical.
            Choose a servo for its history.
          </p>
        </Card>
        <Card className="overflow-x-auto p-4">
          <h2 className="mb-2 font-medium">Live values</h2>
          <table className="w-full min-w-[28rem] text-sm">
            <caption className="sr-only">
              Every servo's live values, coloured against the robot's rules
            </caption>
            <thead>
              <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                <th scope="col" className="px-2 py-1 text-left font-medium">
                  Servo
                </th>
                {COLUMNS.map((c) => (
                  <th key={c.field} scope="col" className="px-2 py-1 text-right font-medium">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {ids.map((id) => (
                <ServoRow
                  key={id}
                  robot={robot}
                  id={id}
                  rules={rules}
                  selected={selected === id}
                  onSelect={() => select(id)}
                />
              ))}
            </tbody>
          </table>
        </Card>
      </div>
      {selected && (
        <section aria-label={`History of servo ${selected}`} className="space-y-3">
          <h2 className="text-lg font-medium">
            Servo {selected} · {servoName(selected)}: history
          </h2>
          <WindowPicker window={window} />
          <div className="grid gap-4 xl:grid-cols-3">
            <MetricChart
              robot={robot}
              title="Position"
              measurement="servos"
              servoId={selected}
              fields={HISTORY_FIELDS.position}
              window={window}
              onZoom={zoom}
            />
            <MetricChart
              robot={robot}
              title="Temperature"
              measurement="servos"
              servoId={selected}
              fields={HISTORY_FIELDS.temperature}
              window={window}
              onZoom={zoom}
              rules={rules}
            />
            <MetricChart
              robot={robot}
              title="Voltage and load"
              measurement="servos"
              servoId={selected}
              fields={HISTORY_FIELDS.power}
              window={window}
              onZoom={zoom}
            />
          </div>
        </section>
      )}
    </div>
  );
}
