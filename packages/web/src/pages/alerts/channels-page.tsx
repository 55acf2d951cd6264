import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, Send, Trash2 } from 'lucide-react';
import { useId, useState } from 'react';
import { label } from '../../alerts/alert-meta';
import { api, errorMessage, fieldErrors } from '../../api/client';
import type {
  CreateNotificationChannelRequest,
  NotificationChannel,
  NotificationChannelList,
  NotificationDelivery,
} from '../../api/types';
import { useCan } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import {
  Button,
  Card,
  cx,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
} from '../../components/ui';
import { AlertsNav } from './alerts-nav';

const CHANNELS_KEY = ['notification-channels'] as const;
const SEVERITIES = ['info', 'warning', 'critical'] as const;
const CHANGES = ['raised', 'escalated', 'updated', 'acknowledged', 'resolved', 'deleted'] as const;

type Kind = 'webhook' | 'email';

function ChannelForm({ channel, onDone }: { channel?: NotificationChannel; onDone: () => void }) {
  const ids = useId();
  const client = useQueryClient();
  const [kind, setKind] = useState<Kind>(channel?.kind ?? 'webhook');
  const [name, setName] = useState(channel?.name ?? '');
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [severities, setSeverities] = useState<string[]>(channel?.severities ?? ['warning', 'critical']);
  const [changes, setChanges] = useState<string[]>(channel?.changes ?? ['raised', 'escalated', 'resolved']);
  const [url, setUrl] = useState(channel?.webhook?.url ?? '');
  const [secret, setSecret] = useState('');
  const [host, setHost] = useState(channel?.email?.host ?? '');
  const [port, setPort] = useState(String(channel?.email?.port ?? 587));
  const [security, setSecurity] = useState(channel?.email?.security ?? 'starttls');
  const [username, setUsername] = useState(channel?.email?.username ?? '');
  const [password, setPassword] = useState('');
  const [from, setFrom] = useState(channel?.email?.from ?? '');
  const [to, setTo] = useState(channel?.email?.to.join(', ') ?? '');
  const save = useMutation({
    mutationFn: () => {
      const common = { name: name.trim(), enabled, severities, changes };
      const webhook = { url: url.trim(), ...(secret ? { secret } : {}) };
      const email = {
        host: host.trim(),
        port: Number(port),
        security,
        ...(username.trim() ? { username: username.trim() } : {}),
        ...(password ? { password } : {}),
        from: from.trim(),
        to: to
          .split(/[,\s]+/)
          .map((s) => s.trim())
          .filter(Boolean),
      };
      if (channel)
        return api<NotificationChannel>(`/notification-channels/${channel.id}`, {
          method: 'PATCH',
          body: { ...common, ...(channel.kind === 'webhook' ? { webhook } : { email }) },
        });
      const body = (
        kind === 'webhook' ? { kind, ...common, webhook } : { kind, ...common, email }
      ) as CreateNotificationChannelRequest;
      return api<NotificationChannel>('/notification-channels', { method: 'POST', body });
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: CHANNELS_KEY });
      onDone();
    },
  });
  const errors = fieldErrors(save.error);
  const err = (...keys: string[]) => {
    const hit = Object.entries(errors).find(([k]) =>
      keys.some((key) => k === key || k.startsWith(`${key}.`)),
    );
    return hit ? <p className="text-sm text-red-700 dark:text-red-400">{hit[1]}</p> : null;
  };
  const text = (
    key: string,
    title: string,
    value: string,
    onChange: (v: string) => void,
    props: React.InputHTMLAttributes<HTMLInputElement> = {},
    errKeys: string[] = [key],
  ) => (
    <div className="flex flex-col gap-1">
      <label htmlFor={`${ids}-${key}`} className="text-sm font-medium">
        {title}
      </label>
      <input
        id={`${ids}-${key}`}
        className={inputClass}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        {...props}
      />
      {err(...errKeys)}
    </div>
  );
  const checks = (
    title: string,
    all: readonly string[],
    value: string[],
    onChange: (v: string[]) => void,
    key: string,
  ) => (
    <fieldset>
      <legend className="mb-1 text-sm font-medium">{title}</legend>
      <div className="flex flex-wrap gap-x-3 gap-y-1">
        {all.map((s) => (
          <label key={s} className="flex items-center gap-1.5 text-sm">
            <input
              type="checkbox"
              checked={value.includes(s)}
              onChange={(e) => onChange(e.target.checked ? [...value, s] : value.filter((x) => x !== s))}
            />
            {label(s)}
          </label>
        ))}
      </div>
      {err(key)}
    </fieldset>
  );
  const otherError = save.error && Object.keys(errors).length === 0 ? errorMessage(save.error) : null;
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      {!channel && (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${ids}-kind`} className="text-sm font-medium">
            Kind
          </label>
          <select
            id={`${ids}-kind`}
            className={inputClass}
            value={kind}
            onChange={(e) => setKind(e.target.value as Kind)}
          >
            <option value="webhook">Webhook (HTTP POST)</option>
            <option value="email">Email (SMTP)</option>
          </select>
        </div>
      )}
      {text('name', 'Name', name, setName, { required: true, maxLength: 100 })}
      {checks('Severities', SEVERITIES, severities, setSeverities, 'severities')}
      {checks('Changes', CHANGES, changes, setChanges, 'changes')}
      {kind === 'webhook' ? (
        <>
          {text('url', 'URL', url, setUrl, { type: 'url', required: !channel, placeholder: 'https://…' }, [
            'webhook.url',
          ])}
          {text(
            'secret',
            channel?.webhook?.has_secret
              ? 'Signing secret (set; type to replace)'
              : 'Signing secret (optional, 16+ characters)',
            secret,
            setSecret,
            { type: 'password', autoComplete: 'new-password' },
            ['webhook.secret'],
          )}
        </>
      ) : (
        <div className="grid gap-3 sm:grid-cols-2">
          {text('host', 'SMTP host', host, setHost, { required: !channel }, ['email.host'])}
          {text('port', 'Port', port, setPort, { inputMode: 'numeric' }, ['email.port'])}
          <div className="flex flex-col gap-1">
            <label htmlFor={`${ids}-security`} className="text-sm font-medium">
              Security
            </label>
            <select
              id={`${ids}-security`}
              className={inputClass}
              value={security}
              onChange={(e) => setSecurity(e.target.value as typeof security)}
            >
              <option value="starttls">STARTTLS</option>
              <option value="tls">TLS</option>
              <option value="none">None</option>
            </select>
          </div>
          {text('username', 'Username (optional)', username, setUsername, { autoComplete: 'off' }, [
            'email.username',
          ])}
          {text(
            'password',
            channel?.email?.has_password ? 'Password (set; type to replace)' : 'Password (optional)',
            password,
            setPassword,
            { type: 'password', autoComplete: 'new-password' },
            ['email.password'],
          )}
          {text('from', 'From address', from, setFrom, { type: 'email' }, ['email.from'])}
          {text('to', 'To (comma-separated)', to, setTo, {}, ['email.to'])}
        </div>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      {otherError && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {otherError}
        </p>
      )}
      <div className="flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" tone="primary" busy={save.isPending}>
          {channel ? 'Save channel' : 'Create channel'}
        </Button>
      </div>
    </form>
  );
}

function TestResult({ d }: { d: NotificationDelivery }) {
  const ok = d.status === 'sent';
  return (
    <p
      role="status"
      className={cx(
        'mt-1 text-sm',
        ok ? 'text-emerald-800 dark:text-emerald-300' : 'text-red-700 dark:text-red-400',
      )}
    >
      Test {ok ? 'sent' : d.status}
      {d.response_code !== null && ` (HTTP ${d.response_code})`}
      {d.duration_ms !== null && ` in ${d.duration_ms} ms`}
      {d.error && `: ${d.error}`}
    </p>
  );
}

function ChannelRow({
  channel,
  onEdit,
  onDelete,
}: {
  channel: NotificationChannel;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const test = useMutation({
    mutationFn: () =>
      api<NotificationDelivery>(`/notification-channels/${channel.id}/test`, { method: 'POST', body: {} }),
  });
  return (
    <li data-testid={`channel-${channel.id}`} className="flex flex-col gap-2 p-3 sm:flex-row sm:items-start">
      <div className="min-w-0 flex-1">
        <p className="font-medium">
          {channel.name}{' '}
          <span className="text-xs text-slate-600 dark:text-slate-400">({label(channel.kind)})</span>
          {!channel.enabled && (
            <span className="ml-2 text-xs text-slate-600 dark:text-slate-400">(disabled)</span>
          )}
        </p>
        <p className="text-sm break-all text-slate-700 dark:text-slate-300">
          {channel.webhook?.url ?? `${channel.email?.from} → ${channel.email?.to.join(', ')}`}
        </p>
        <p className="text-xs text-slate-600 dark:text-slate-400">
          {channel.severities.map(label).join(', ')} · {channel.changes.map(label).join(', ')}
          {channel.consecutive_failures > 0 && ` · ${channel.consecutive_failures} failures in a row`}
        </p>
        {test.data && <TestResult d={test.data} />}
        {test.error && (
          <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
            {errorMessage(test.error)}
          </p>
        )}
      </div>
      <div className="flex shrink-0 flex-wrap gap-1.5">
        <Button
          size="sm"
          onClick={() => test.mutate()}
          busy={test.isPending}
          aria-label={`Send a test to ${channel.name}`}
        >
          <Send aria-hidden className="size-4" /> Test
        </Button>
        <Button size="sm" onClick={onEdit} aria-label={`Edit ${channel.name}`}>
          <Pencil aria-hidden className="size-4" /> Edit
        </Button>
        <Button size="sm" tone="ghost" onClick={onDelete} aria-label={`Delete ${channel.name}`}>
          <Trash2 aria-hidden className="size-4" /> Delete
        </Button>
      </div>
    </li>
  );
}

export default function ChannelsPage() {
  const allowed = useCan('notifications:manage');
  const client = useQueryClient();
  const toast = useToast();
  const [editing, setEditing] = useState<NotificationChannel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<NotificationChannel | null>(null);
  const list = useQuery({
    queryKey: CHANNELS_KEY,
    queryFn: ({ signal }) => api<NotificationChannelList>('/notification-channels', { signal }),
    enabled: allowed,
  });
  const remove = useMutation({
    mutationFn: (c: NotificationChannel) => api(`/notification-channels/${c.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: CHANNELS_KEY });
      toast.push({ tone: 'success', title: 'Channel deleted' });
      setDeleting(null);
    },
  });
  if (!allowed)
    return (
      <div>
        <PageHeader title="Alerts" />
        <AlertsNav />
        <EmptyState title="Notification channels are managed by administrators">
          Ask an administrator to add a webhook or an email address for alerts.
        </EmptyState>
      </div>
    );
  return (
    <div>
      <PageHeader title="Alerts">
        <Button tone="primary" onClick={() => setEditing('new')}>
          <Plus aria-hidden className="size-4" /> New channel
        </Button>
      </PageHeader>
      <AlertsNav />
      <Card>
        {list.isPending ? (
          <Loading label="Loading channels…" />
        ) : list.isError ? (
          <ErrorState
            error={list.error}
            retry={() => void list.refetch()}
            title="The channels could not be loaded"
          />
        ) : list.data.items.length === 0 ? (
          <EmptyState title="No notification channels">
            Add a webhook or an email channel to be told of alerts when nobody is looking at this app.
          </EmptyState>
        ) : (
          <ul aria-label="Notification channels" className="divide-y divide-slate-200 dark:divide-slate-800">
            {list.data.items.map((c) => (
              <ChannelRow
                key={c.id}
                channel={c}
                onEdit={() => setEditing(c)}
                onDelete={() => setDeleting(c)}
              />
            ))}
          </ul>
        )}
      </Card>
      <Dialog
        open={editing !== null}
        onOpenChange={(o) => !o && setEditing(null)}
        title={editing === 'new' ? 'New notification channel' : 'Edit notification channel'}
        wide
      >
        {editing !== null && (
          <ChannelForm channel={editing === 'new' ? undefined : editing} onDone={() => setEditing(null)} />
        )}
      </Dialog>
      <Dialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title="Delete this channel?"
        description={deleting ? `${deleting.name} and its delivery log are deleted.` : ''}
      >
        {remove.error && (
          <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-400">
            {errorMessage(remove.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setDeleting(null)}>Cancel</Button>
          <Button tone="danger" busy={remove.isPending} onClick={() => deleting && remove.mutate(deleting)}>
            Delete channel
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
