import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CalendarClock, History, Pencil, Play, Plus, Trash2 } from 'lucide-react';
import { useId, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import type {
  CreateReportScheduleRequest,
  NotificationChannelList,
  ReportAccepted,
  ReportSchedule,
  ReportScheduleList,
  ScheduleFrequency,
} from '../../api/types';
import { useCan } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import {
  Button,
  Card,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  ScrollRegion,
  Time,
} from '../../components/ui';
import { ConfirmDialog } from '../admin/admin-ui';
import { fieldErrors } from '../robot/settings-tab';
import { type ReportWhat, ReportWhatFields } from './report-fields';
import { KIND_LABELS } from './report-labels';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const FREQUENCIES: Record<ScheduleFrequency, string> = {
  daily: 'Daily (the day before)',
  weekly: 'Weekly (the week before, Monday to Sunday)',
  monthly: 'Monthly (the month before)',
};
const SCHEDULES_KEY = ['reports', 'schedules'] as const;

function scopeOf(s: Pick<ReportSchedule, 'robot_id' | 'tag'>): string {
  return s.robot_id ? s.robot_id : s.tag ? `tag “${s.tag}”` : 'the fleet';
}

/** The schedule form: a new schedule (`schedule` undefined) or changes to one, sent as PATCH. */
function ScheduleForm({ schedule, onDone }: { schedule?: ReportSchedule; onDone: () => void }) {
  const canChannels = useCan('notifications:manage');
  const [name, setName] = useState(schedule?.name ?? '');
  const [what, setWhat] = useState<ReportWhat>({
    kind: schedule?.kind ?? 'fleet_summary',
    scope: schedule?.robot_id ? 'robot' : schedule?.tag ? 'tag' : 'fleet',
    robotId: schedule?.robot_id ?? '',
    tag: schedule?.tag ?? '',
    sections: schedule?.kind === 'custom' ? schedule.sections : ['performance', 'alerts'],
  });
  const { kind, scope, robotId, tag, sections } = what;
  const [frequency, setFrequency] = useState<ScheduleFrequency>(schedule?.frequency ?? 'weekly');
  const [time, setTime] = useState(schedule?.time ?? '06:00');
  const [weekday, setWeekday] = useState(schedule?.weekday ?? 1);
  const [day, setDay] = useState(schedule?.day_of_month ?? 1);
  const [channels, setChannels] = useState<number[]>(schedule?.channel_ids ?? []);
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const ids = {
    name: useId(),
    frequency: useId(),
    time: useId(),
    weekday: useId(),
    day: useId(),
    enabled: useId(),
  };
  const channelList = useQuery({
    queryKey: ['notification-channels'],
    queryFn: ({ signal }) => api<NotificationChannelList>('/notification-channels', { signal }),
    enabled: canChannels,
  });
  const client = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: (body: CreateReportScheduleRequest) =>
      schedule
        ? api<ReportSchedule>(`/report-schedules/${schedule.id}`, { method: 'PATCH', body })
        : api<ReportSchedule>('/report-schedules', { method: 'POST', body }),
    onSuccess: (s) => {
      toast.push({
        title: schedule ? 'Schedule saved' : 'Schedule created',
        description: s.description,
        tone: 'success',
      });
      void client.invalidateQueries({ queryKey: SCHEDULES_KEY });
      onDone();
    },
  });
  const errors = fieldErrors(save.error);
  const label = 'mb-1 block text-sm font-medium';
  const error = (key: string) =>
    errors[key] ? <p className="mt-1 text-sm text-red-700 dark:text-red-400">{errors[key]}</p> : null;
  return (
    <form
      aria-label={schedule ? `Change schedule ${schedule.name}` : 'New schedule'}
      className="grid gap-3 sm:grid-cols-2"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({
          name: name.trim(),
          kind,
          robot_id: scope === 'robot' && robotId ? robotId : null,
          tag: scope === 'tag' && tag.trim() ? tag.trim() : null,
          sections: kind === 'custom' ? sections : null,
          frequency,
          time,
          ...(frequency === 'weekly' ? { weekday } : {}),
          ...(frequency === 'monthly' ? { day_of_month: day } : {}),
          ...(canChannels ? { channel_ids: channels } : {}),
          enabled,
        });
      }}
    >
      <div className="sm:col-span-2">
        <label htmlFor={ids.name} className={label}>
          Name
        </label>
        <input
          id={ids.name}
          className={inputClass}
          value={name}
          required
          maxLength={100}
          placeholder="e.g. Weekly fleet review"
          onChange={(e) => setName(e.target.value)}
        />
        {error('name')}
      </div>
      <ReportWhatFields value={what} onChange={setWhat} error={error} />
      <div>
        <label htmlFor={ids.frequency} className={label}>
          Every
        </label>
        <select
          id={ids.frequency}
          className={inputClass}
          value={frequency}
          onChange={(e) => setFrequency(e.target.value as ScheduleFrequency)}
        >
          {Object.entries(FREQUENCIES).map(([value, text]) => (
            <option key={value} value={value}>
              {text}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={ids.time} className={label}>
          At <span className="font-normal text-slate-600 dark:text-slate-400">(the server’s time zone)</span>
        </label>
        <input
          id={ids.time}
          type="time"
          className={inputClass}
          value={time}
          required
          onChange={(e) => setTime(e.target.value)}
        />
        {error('time')}
      </div>
      {frequency === 'weekly' && (
        <div>
          <label htmlFor={ids.weekday} className={label}>
            On
          </label>
          <select
            id={ids.weekday}
            className={inputClass}
            value={weekday}
            onChange={(e) => setWeekday(Number(e.target.value))}
          >
            {WEEKDAYS.map((d, i) => (
              <option key={d} value={i}>
                {d}
              </option>
            ))}
          </select>
        </div>
      )}
      {frequency === 'monthly' && (
        <div>
          <label htmlFor={ids.day} className={label}>
            On day
          </label>
          <select
            id={ids.day}
            className={inputClass}
            value={day}
            onChange={(e) => setDay(Number(e.target.value))}
          >
            {Array.from({ length: 28 }, (_, i) => i + 1).map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
      )}
      <fieldset className="sm:col-span-2">
        <legend className={label}>Send each report to</legend>
        {!canChannels ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {schedule && schedule.channel_ids.length > 0
              ? `${schedule.channel_ids.length} notification channel(s), chosen by an admin.`
              : 'An admin can add notification channels (email gets the PDF attached).'}
          </p>
        ) : channelList.isPending ? (
          <Loading label="Loading channels…" />
        ) : (channelList.data?.items.length ?? 0) === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            No notification channel yet: add one under{' '}
            <Link to="/alerts/channels" className="underline">
              Alerts → Notification channels
            </Link>
            .
          </p>
        ) : (
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {channelList.data?.items.map((c) => (
              <label key={c.id} className="inline-flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  className="size-4"
                  checked={channels.includes(c.id)}
                  onChange={(e) =>
                    setChannels((s) => (e.target.checked ? [...s, c.id] : s.filter((x) => x !== c.id)))
                  }
                />
                {c.name} <span className="text-xs text-slate-600 dark:text-slate-400">({c.kind})</span>
              </label>
            ))}
          </div>
        )}
        {error('channel_ids')}
      </fieldset>
      <div className="flex items-center gap-2 sm:col-span-2">
        <input
          id={ids.enabled}
          type="checkbox"
          className="size-4"
          checked={enabled}
          onChange={(e) => setEnabled(e.target.checked)}
        />
        <label htmlFor={ids.enabled} className="text-sm">
          Enabled
        </label>
      </div>
      {save.isError && Object.keys(errors).length === 0 && (
        <p role="alert" className="text-sm text-red-700 sm:col-span-2 dark:text-red-400">
          {save.error.message}
        </p>
      )}
      <div className="flex gap-2 sm:col-span-2">
        <Button type="submit" tone="primary" busy={save.isPending}>
          {schedule ? 'Save' : 'Create schedule'}
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
    </form>
  );
}

/**
 * The report schedules: when each runs next and how its last run went; operators create, change, run now,
 * pause and delete them. `onHistory` shows a schedule's reports in the list above.
 */
export function SchedulesPanel({ onHistory }: { onHistory: (schedule: ReportSchedule) => void }) {
  const canManage = useCan('reports:manage');
  const [editing, setEditing] = useState<ReportSchedule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ReportSchedule | null>(null);
  const client = useQueryClient();
  const toast = useToast();
  const schedules = useQuery({
    queryKey: SCHEDULES_KEY,
    queryFn: ({ signal }) => api<ReportScheduleList>('/report-schedules', { signal }),
    refetchInterval: 60_000,
  });
  const run = useMutation({
    mutationFn: (s: ReportSchedule) =>
      api<ReportAccepted>(`/report-schedules/${s.id}/run`, { method: 'POST' }),
    onSuccess: (r) => {
      toast.push({
        title: 'Report queued',
        description: `Report ${r.report_id} is being generated.`,
        tone: 'success',
      });
      void client.invalidateQueries({ queryKey: ['reports'] });
    },
    onError: (err) => toast.push({ title: 'Not run', description: (err as Error).message, tone: 'error' }),
  });
  const remove = useMutation({
    mutationFn: (s: ReportSchedule) => api<null>(`/report-schedules/${s.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      setDeleting(null);
      void client.invalidateQueries({ queryKey: SCHEDULES_KEY });
    },
  });
  const th = 'px-2 py-1.5 text-left font-medium';
  return (
    <Card className="p-4">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 className="flex items-center gap-1.5 font-semibold">
          <CalendarClock aria-hidden className="size-4" /> Schedules
        </h2>
        {canManage && (
          <Button size="sm" onClick={() => setEditing('new')}>
            <Plus aria-hidden className="size-4" /> New schedule
          </Button>
        )}
      </div>
      {schedules.isPending ? (
        <Loading label="Loading schedules…" />
      ) : schedules.isError ? (
        <ErrorState error={schedules.error} retry={() => void schedules.refetch()} />
      ) : schedules.data.items.length === 0 ? (
        <EmptyState title="No schedule yet">
          {canManage
            ? 'A schedule makes a report every day, week or month, and can send it by email.'
            : 'An operator can schedule reports.'}
        </EmptyState>
      ) : (
        <ScrollRegion label="Schedules">
          <table className="w-full min-w-[44rem] text-sm">
            <thead>
              <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                <th className={th}>Schedule</th>
                <th className={th}>Next run</th>
                <th className={th}>Last run</th>
                <th className={th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {schedules.data.items.map((s) => (
                <tr
                  key={s.id}
                  className="border-b border-slate-100 align-top dark:border-slate-800/60"
                  data-testid={`schedule-row-${s.id}`}
                >
                  <td className="px-2 py-1.5">
                    <div className="font-medium">{s.name}</div>
                    <div className="text-xs text-slate-600 dark:text-slate-400">
                      {KIND_LABELS[s.kind]} · {scopeOf(s)}
                      {s.channel_ids.length > 0 &&
                        ` · sent to ${s.channel_ids.length} channel${s.channel_ids.length === 1 ? '' : 's'}`}
                    </div>
                    <div className="text-xs text-slate-600 dark:text-slate-400">{s.description}</div>
                  </td>
                  <td className="px-2 py-1.5 whitespace-nowrap" data-testid="schedule-next">
                    {s.enabled ? <Time value={s.next_run_at} /> : <span className="italic">paused</span>}
                  </td>
                  <td className="px-2 py-1.5 whitespace-nowrap">
                    {s.last_report_id !== null ? (
                      <Link to={`/reports/${s.last_report_id}`} className="underline">
                        <Time value={s.last_run_at} />
                      </Link>
                    ) : s.last_run_at ? (
                      <Time value={s.last_run_at} />
                    ) : (
                      '—'
                    )}
                    {s.last_status && <div className="text-xs">{s.last_status}</div>}
                  </td>
                  <td className="px-2 py-1.5">
                    <div className="flex flex-wrap justify-end gap-1">
                      <Button
                        size="sm"
                        tone="ghost"
                        onClick={() => onHistory(s)}
                        aria-label={`History of ${s.name}`}
                      >
                        <History aria-hidden className="size-4" /> History
                      </Button>
                      {canManage && (
                        <>
                          <Button
                            size="sm"
                            tone="ghost"
                            busy={run.isPending && run.variables?.id === s.id}
                            onClick={() => run.mutate(s)}
                            aria-label={`Run now: ${s.name}`}
                          >
                            <Play aria-hidden className="size-4" /> Run now
                          </Button>
                          <Button
                            size="sm"
                            tone="ghost"
                            onClick={() => setEditing(s)}
                            aria-label={`Change: ${s.name}`}
                          >
                            <Pencil aria-hidden className="size-4" />
                          </Button>
                          <Button
                            size="sm"
                            tone="ghost"
                            onClick={() => setDeleting(s)}
                            aria-label={`Delete: ${s.name}`}
                          >
                            <Trash2 aria-hidden className="size-4" />
                          </Button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <Dialog
        open={editing !== null}
        onOpenChange={(o) => !o && setEditing(null)}
        title={editing === 'new' || editing === null ? 'New schedule' : `Change “${editing.name}”`}
        wide
      >
        {editing !== null && (
          <ScheduleForm
            key={editing === 'new' ? 'new' : editing.id}
            {...(editing === 'new' ? {} : { schedule: editing })}
            onDone={() => setEditing(null)}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => {
          if (!o) {
            setDeleting(null);
            remove.reset();
          }
        }}
        title="Delete this schedule?"
        description={deleting ? `“${deleting.name}” makes no more reports; the reports it made stay.` : ''}
        confirmLabel="Delete schedule"
        busy={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </Card>
  );
}
