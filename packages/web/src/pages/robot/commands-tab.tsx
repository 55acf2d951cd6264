import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { POWER_COMMAND_TYPES } from '@tonypi/contracts/command-limits';
import { useId, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError, api } from '../../api/client';
import type { CommandAccepted, CommandList, CommandView, RequestableCommand, Robot } from '../../api/types';
import { useCan } from '../../auth/auth';
import { Button, Card, cx, EmptyState, ErrorState, inputClass, Loading, Time } from '../../components/ui';
import { useLiveChannels, useLiveFrames } from '../../live/live-context';
import {
  buildParams,
  COMMAND_FIELDS,
  COMMAND_LABELS,
  COMMAND_ORDER,
  type FieldSpec,
  initialValue,
} from './command-fields';

const POWER: ReadonlySet<string> = new Set(POWER_COMMAND_TYPES);

const STATE_STYLE: Record<CommandView['status'], string> = {
  pending: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
  sent: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  acknowledged: 'bg-indigo-100 text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100',
  succeeded: 'bg-teal-100 text-teal-900 dark:bg-teal-900 dark:text-teal-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
  timed_out: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  rejected: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
};

export function CommandState({ status }: { status: CommandView['status'] }) {
  return (
    <span className={cx('inline-flex rounded-full px-2 py-0.5 text-xs font-medium', STATE_STYLE[status])}>
      {status.replace('_', ' ')}
    </span>
  );
}

function commandsKey(robotId: string) {
  return ['commands', robotId] as const;
}

/** Per form field, the API's 400 message for it (`body.params.distance_m` → `distance_m`). */
function fieldErrorsOf(err: unknown): { fields: Record<string, string>; other: string[] } {
  const fields: Record<string, string> = {};
  const other: string[] = [];
  if (err instanceof ApiError && err.code === 'validation_error') {
    const list = (err.details as { fields?: { field: string; message: string }[] } | undefined)?.fields ?? [];
    for (const f of list) {
      const m = /^body\.params\.([a-z0-9_]+)/.exec(f.field);
      if (m?.[1]) fields[m[1]] = f.message;
      else other.push(`${f.field}: ${f.message}`);
    }
  }
  return { fields, other };
}

function Field({
  spec,
  value,
  error,
  onChange,
}: {
  spec: FieldSpec;
  value: string;
  error?: string;
  onChange: (v: string) => void;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const common = {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? errorId : undefined,
    className: cx(inputClass, error && 'border-red-700 dark:border-red-400'),
    value,
  } as const;
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {spec.label}
        {spec.optional && <span className="font-normal text-slate-600 dark:text-slate-400"> (optional)</span>}
      </label>
      {spec.kind === 'choice' ? (
        <select {...common} onChange={(e) => onChange(e.target.value)}>
          {spec.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : spec.kind === 'number' ? (
        <input
          {...common}
          type="number"
          inputMode="decimal"
          step={spec.step ?? (spec.integer ? '1' : 'any')}
          min={spec.min}
          max={spec.max}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : spec.kind === 'config' || (spec.kind === 'text' && spec.multiline) ? (
        <textarea
          {...common}
          rows={3}
          placeholder={spec.kind === 'config' ? 'volume=60\nled=true' : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : (
        <input {...common} type="text" onChange={(e) => onChange(e.target.value)} />
      )}
      {error && (
        <p id={errorId} className="mt-1 text-sm text-red-700 dark:text-red-400">
          {spec.label}: {error}
        </p>
      )}
    </div>
  );
}

function initialValues(command: RequestableCommand): Record<string, string> {
  return Object.fromEntries(
    (COMMAND_FIELDS[command] as readonly FieldSpec[]).map((f) => [f.name, initialValue(f)]),
  );
}

/** Sends one command of the vocabulary, checked against the API's limits first; the API's 400 per field. */
export function CommandForm({ robotId, onSent }: { robotId: string; onSent?: (id: string) => void }) {
  const canPower = useCan('robots:power');
  const commands = COMMAND_ORDER.filter((c) => canPower || !POWER.has(c));
  const [command, setCommand] = useState<RequestableCommand>('move');
  const [values, setValues] = useState<Record<string, string>>(() => initialValues('move'));
  const [queue, setQueue] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [otherErrors, setOtherErrors] = useState<string[]>([]);
  const client = useQueryClient();
  const selectId = useId();
  const send = useMutation({
    mutationFn: (params: Record<string, unknown>) =>
      api<CommandAccepted>(`/robots/${encodeURIComponent(robotId)}/commands`, {
        method: 'POST',
        body: { command, params, ...(queue ? { queue_ttl_s: 600 } : {}) },
      }),
    onSuccess: (res) => {
      void client.invalidateQueries({ queryKey: commandsKey(robotId) });
      onSent?.(res.command_id);
    },
    onError: (err) => {
      const { fields, other } = fieldErrorsOf(err);
      setErrors(fields);
      setOtherErrors(other);
    },
  });
  const specs = COMMAND_FIELDS[command] as readonly FieldSpec[];
  return (
    <form
      noValidate
      aria-label="Send a command"
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        const built = buildParams(command, values);
        setErrors(built.errors);
        setOtherErrors([]);
        if (Object.keys(built.errors).length === 0) send.mutate(built.params);
      }}
    >
      <div>
        <label htmlFor={selectId} className="mb-1 block text-sm font-medium">
          Command
        </label>
        <select
          id={selectId}
          className={inputClass}
          value={command}
          onChange={(e) => {
            const next = e.target.value as RequestableCommand;
            setCommand(next);
            setValues(initialValues(next));
            setErrors({});
            setOtherErrors([]);
            send.reset();
          }}
        >
          {commands.map((c) => (
            <option key={c} value={c}>
              {COMMAND_LABELS[c]} ({c})
            </option>
          ))}
        </select>
      </div>
      {specs.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">This command takes no parameters.</p>
      ) : (
        <div className="grid gap-3 sm:grid-cols-2">
          {specs.map((f) => (
            <Field
              key={`${command}.${f.name}`}
              spec={f}
              value={values[f.name] ?? ''}
              error={errors[f.name]}
              onChange={(v) => setValues((s) => ({ ...s, [f.name]: v }))}
            />
          ))}
        </div>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={queue} onChange={(e) => setQueue(e.target.checked)} />
        If the robot is offline, keep it 10 minutes and send it when the robot is back
      </label>
      {send.isError && (
        <div
          role="alert"
          className="rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200"
        >
          {send.error instanceof ApiError && send.error.code === 'validation_error'
            ? otherErrors.length > 0
              ? otherErrors.join('; ')
              : 'The robot refused some values: see the fields above.'
            : send.error.message}
        </div>
      )}
      <Button type="submit" tone={POWER.has(command) ? 'danger' : 'primary'} busy={send.isPending}>
        Send {COMMAND_LABELS[command].toLowerCase()}
      </Button>
    </form>
  );
}

function paramsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return '';
  return entries.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ');
}

/** Commands whose newest frame the history keeps, to correct a list read that crossed it. */
const SEEN_MAX = 200;

/** How far a command has got: its state only moves forward (sent, acknowledged, finished). */
function progress(c: CommandView): number {
  return c.finished_at ? 3 : c.acknowledged_at ? 2 : c.sent_at ? 1 : 0;
}

/** The view of the two that has got further (the API's on a tie). */
function furthest(live: CommandView | undefined, listed: CommandView): CommandView {
  return live && progress(live) > progress(listed) ? live : listed;
}

/** The robot's commands, newest first; every `command` frame updates its row as it arrives. */
export function CommandHistory({ robotId, highlight }: { robotId: string; highlight?: string }) {
  const client = useQueryClient();
  const [params, setParams] = useSearchParams();
  const status = params.get('cstatus') ?? '';
  // The newest frame of each recent command: a list read while a command finished (sent right after the
  // POST, answered before the robot's answer was stored) must not put back the older state it read.
  const seen = useRef(new Map<string, CommandView>());
  const list = useQuery({
    queryKey: [...commandsKey(robotId), status],
    queryFn: async ({ signal }) => {
      const res = await api<CommandList>(`/robots/${encodeURIComponent(robotId)}/commands`, {
        query: { limit: 50, status: status || undefined },
        signal,
      });
      return { ...res, items: res.items.map((c) => furthest(seen.current.get(c.command_id), c)) };
    },
  });
  useLiveChannels('command');
  useLiveFrames('command', (frames) => {
    const mine = frames.filter((f) => f.robot_id === robotId);
    if (mine.length === 0) return;
    for (const { type: _t, ...view } of mine) {
      seen.current.delete(view.command_id);
      seen.current.set(view.command_id, view);
      if (seen.current.size > SEEN_MAX) seen.current.delete(seen.current.keys().next().value ?? '');
    }
    client.setQueriesData<CommandList>({ queryKey: commandsKey(robotId) }, (old) => {
      if (!old) return old;
      const items = [...old.items];
      for (const { type: _t, ...view } of mine) {
        const i = items.findIndex((c) => c.command_id === view.command_id);
        if (i >= 0) items[i] = view;
        else if (!status || view.status === status) items.unshift(view);
      }
      return { ...old, items };
    });
  });
  return (
    <Card className="p-4">
      <div className="mb-3 flex flex-wrap items-end justify-between gap-2">
        <h2 className="font-medium">History</h2>
        <label className="text-sm">
          <span className="mr-2">State</span>
          <select
            className={cx(inputClass, 'w-auto')}
            value={status}
            onChange={(e) =>
              setParams((p) => {
                const next = new URLSearchParams(p);
                if (e.target.value) next.set('cstatus', e.target.value);
                else next.delete('cstatus');
                return next;
              })
            }
          >
            <option value="">Any</option>
            {Object.keys(STATE_STYLE).map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </div>
      {list.isPending ? (
        <Loading label="Loading commands…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState title={status ? 'No command in this state' : 'No command sent to this robot yet'}>
          {status
            ? 'Choose another state.'
            : 'Commands sent from the form above appear here with their result.'}
        </EmptyState>
      ) : (
        <ul aria-label="Commands" className="divide-y divide-slate-200 dark:divide-slate-800">
          {list.data.items.map((c) => (
            <li
              key={c.command_id}
              data-testid={`command-${c.command_id}`}
              className={cx('py-2', c.command_id === highlight && 'bg-teal-50/60 dark:bg-teal-950/40')}
            >
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium">{c.command}</span>
                <CommandState status={c.status} />
                <span className="text-xs text-slate-600 dark:text-slate-400">
                  <Time value={c.created_at} />
                  {c.requested_by ? ` · ${c.requested_by}` : ''}
                </span>
              </div>
              {paramsText(c.params) && (
                <div className="text-xs break-all text-slate-600 dark:text-slate-400">
                  {paramsText(c.params)}
                </div>
              )}
              {c.message && <div className="text-sm">{c.message}</div>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export function CommandsTab({ robot }: { robot: Robot }) {
  const canControl = useCan('robots:control');
  const [last, setLast] = useState<string>();
  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_minmax(0,1.2fr)]">
      {canControl ? (
        <Card className="p-4">
          <h2 className="mb-3 font-medium">Send a command</h2>
          <CommandForm robotId={robot.robot_id} onSent={setLast} />
        </Card>
      ) : (
        <Card className="p-4 text-sm text-slate-600 dark:text-slate-400">
          Your role can see this robot's commands but not send them.
        </Card>
      )}
      <CommandHistory robotId={robot.robot_id} highlight={last} />
    </div>
  );
}
