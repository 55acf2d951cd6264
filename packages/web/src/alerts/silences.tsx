import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, errorMessage, fieldErrors } from '../api/client';
import type { AlertSilence, AlertSilenceList, AlertView, CreateAlertSilenceRequest } from '../api/types';
import { useCan } from '../auth/auth';
import { Dialog } from '../components/dialog';
import { useToast } from '../components/toasts';
import { Button, Card, EmptyState, ErrorState, inputClass, Loading, Time } from '../components/ui';

export const SILENCES_KEY = ['alerts', 'silences'] as const;

const DURATIONS = [
  { value: 1800, label: '30 minutes' },
  { value: 3600, label: '1 hour' },
  { value: 4 * 3600, label: '4 hours' },
  { value: 86_400, label: '1 day' },
  { value: 7 * 86_400, label: '1 week' },
];

function FieldError({ message }: { message?: string }) {
  return message ? <p className="text-sm text-red-700 dark:text-red-400">{message}</p> : null;
}

/**
 * Silence a robot or a rule for a while, with a reason: alerts are still raised and shown (marked silenced)
 * but nobody is notified. Opened from an alert (its robot and rule are offered) or with a free robot id.
 */
export function SilenceDialog({
  alert,
  open,
  onClose,
}: {
  alert: AlertView | null;
  open?: boolean;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const toast = useToast();
  const ids = useId();
  const [scope, setScope] = useState<'robot' | 'rule'>('robot');
  const [robot, setRobot] = useState('');
  const [duration, setDuration] = useState(3600);
  const [reason, setReason] = useState('');
  const run = useMutation({
    mutationFn: (body: CreateAlertSilenceRequest) =>
      api<AlertSilence>('/alert-silences', { method: 'POST', body }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: SILENCES_KEY });
      toast.push({ tone: 'success', title: 'Silenced' });
      setReason('');
      onClose();
    },
  });
  const fromAlert = alert !== null;
  const ruleChoice = fromAlert && alert.rule_id !== null;
  const robotChoice = !fromAlert || alert.robot_id !== null;
  const effective = !robotChoice ? 'rule' : !ruleChoice ? 'robot' : scope;
  const errors = fieldErrors(run.error);
  return (
    <Dialog
      open={open ?? fromAlert}
      onOpenChange={(o) => {
        if (!o) {
          run.reset();
          onClose();
        }
      }}
      title="Silence alerts"
      description="Alerts are still raised and listed (marked silenced), but no notification is sent until the silence ends."
    >
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          const body: CreateAlertSilenceRequest = { duration_s: duration, reason: reason.trim() };
          if (effective === 'rule' && alert?.rule_id) body.rule_id = alert.rule_id;
          else body.robot_id = fromAlert ? alert.robot_id : robot.trim() || null;
          run.mutate(body);
        }}
      >
        {fromAlert && robotChoice && ruleChoice && (
          <fieldset className="flex flex-col gap-1">
            <legend className="mb-1 text-sm font-medium">What to silence</legend>
            <label className="flex items-center gap-2 text-sm">
              <input
                type="radio"
                name={`${ids}-scope`}
                checked={scope === 'robot'}
                onChange={() => setScope('robot')}
              />
              Every alert of robot {alert.robot_id}
            </label>
            <label className="flex items-center gap-2 text-sm">
              <input
                type="radio"
                name={`${ids}-scope`}
                checked={scope === 'rule'}
                onChange={() => setScope('rule')}
              />
              This rule (#{alert.rule_id}), on every robot
            </label>
          </fieldset>
        )}
        {fromAlert && !(robotChoice && ruleChoice) && (
          <p className="text-sm">
            {effective === 'robot'
              ? `Every alert of robot ${alert.robot_id}`
              : `Rule #${alert.rule_id}, on every robot`}
          </p>
        )}
        {!fromAlert && (
          <div className="flex flex-col gap-1">
            <label htmlFor={`${ids}-robot`} className="text-sm font-medium">
              Robot id (empty: the whole fleet)
            </label>
            <input
              id={`${ids}-robot`}
              className={inputClass}
              value={robot}
              onChange={(e) => setRobot(e.target.value)}
            />
            <FieldError message={errors.robot_id} />
          </div>
        )}
        <div className="flex flex-col gap-1">
          <label htmlFor={`${ids}-duration`} className="text-sm font-medium">
            For
          </label>
          <select
            id={`${ids}-duration`}
            className={inputClass}
            value={duration}
            onChange={(e) => setDuration(Number(e.target.value))}
          >
            {DURATIONS.map((d) => (
              <option key={d.value} value={d.value}>
                {d.label}
              </option>
            ))}
          </select>
          <FieldError message={errors.duration_s ?? errors.ends_at} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={`${ids}-reason`} className="text-sm font-medium">
            Reason
          </label>
          <input
            id={`${ids}-reason`}
            className={inputClass}
            required
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            placeholder="e.g. servo replacement"
          />
          <FieldError message={errors.reason} />
        </div>
        {run.error && Object.keys(errors).length === 0 && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {errorMessage(run.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" tone="primary" busy={run.isPending}>
            Silence
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function scopeText(s: AlertSilence): string {
  if (s.robot_id && s.rule_id) return `Robot ${s.robot_id}, rule #${s.rule_id}`;
  if (s.robot_id) return `Robot ${s.robot_id}`;
  if (s.rule_id) return `Rule #${s.rule_id} on every robot`;
  return 'The whole fleet';
}

/** The silences in force or to come, with "end now" for those who may configure alerts. */
export function SilencesPanel({ robotId }: { robotId?: string }) {
  const client = useQueryClient();
  const canConfigure = useCan('alerts:configure');
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: [...SILENCES_KEY, robotId ?? null],
    queryFn: ({ signal }) =>
      api<AlertSilenceList>('/alert-silences', { query: { robot_id: robotId }, signal }),
  });
  const end = useMutation({
    mutationFn: (id: number) => api<AlertSilence>(`/alert-silences/${id}`, { method: 'DELETE' }),
    onSuccess: () => void client.invalidateQueries({ queryKey: SILENCES_KEY }),
  });
  return (
    <section aria-labelledby="silences-title" className="mt-6">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h2 id="silences-title" className="text-lg font-semibold">
          Silences
        </h2>
        {canConfigure && (
          <Button size="sm" onClick={() => setCreating(true)}>
            New silence
          </Button>
        )}
      </div>
      <Card>
        {list.isPending ? (
          <Loading label="Loading silences…" />
        ) : list.isError ? (
          <ErrorState error={list.error} retry={() => void list.refetch()} />
        ) : list.data.items.length === 0 ? (
          <EmptyState title="No silences">
            Silence a robot under maintenance or a noisy rule from an alert’s “Silence” button.
          </EmptyState>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {list.data.items.map((s) => (
              <li key={s.id} className="flex flex-wrap items-center justify-between gap-2 p-3 text-sm">
                <div>
                  <p className="font-medium">
                    {scopeText(s)} {s.active ? '' : '(not started yet)'}
                  </p>
                  <p className="text-slate-600 dark:text-slate-400">
                    Until <Time value={s.ends_at} /> · {s.reason}
                    {s.created_by && ` · by ${s.created_by}`}
                  </p>
                </div>
                {canConfigure && (
                  <Button
                    size="sm"
                    onClick={() => end.mutate(s.id)}
                    busy={end.isPending && end.variables === s.id}
                  >
                    End now
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Card>
      {end.error && (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {errorMessage(end.error)}
        </p>
      )}
      <SilenceDialog alert={null} open={creating} onClose={() => setCreating(false)} />
    </section>
  );
}
