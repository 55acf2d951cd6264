import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Download, ExternalLink, Pencil, PlugZap, ShieldAlert, SquareTerminal, X } from 'lucide-react';
import { lazy, Suspense, useId, useState } from 'react';
import { api } from '../../api/client';
import type {
  ConfiguredSsh,
  PutRobotSshRequest,
  Robot,
  RobotSshSettings,
  SshSessionList,
  SshTestResult,
} from '../../api/types';
import { useCan } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import { Button, Card, ErrorState, inputClass, Loading, ScrollRegion, Time } from '../../components/ui';
import { fieldErrors } from './settings-tab';

/** xterm.js (≈ 300 KB) loads when a terminal is first opened, not with the robot page. */
const TerminalView = lazy(() => import('../../terminal/terminal-view'));
type TerminalConnection = import('../../terminal/terminal-view').TerminalConnection;

const sshPath = (robotId: string) => `/robots/${encodeURIComponent(robotId)}/ssh`;

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function duration(from: string, to: string | null): string {
  if (!to) return 'open';
  const s = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The settings form: secrets are never shown, only whether they are set; left empty they are kept. */
function SettingsForm({
  robot,
  current,
  onDone,
}: {
  robot: Robot;
  current: ConfiguredSsh | undefined;
  onDone: () => void;
}) {
  const [host, setHost] = useState(current?.host ?? '');
  const [port, setPort] = useState(String(current?.port ?? 22));
  const [username, setUsername] = useState(current?.username ?? 'pi');
  const [password, setPassword] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [transcript, setTranscript] = useState(current?.transcript ?? false);
  const ids = {
    host: useId(),
    port: useId(),
    username: useId(),
    password: useId(),
    private_key: useId(),
    passphrase: useId(),
    transcript: useId(),
  };
  const client = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: (body: PutRobotSshRequest) =>
      api<RobotSshSettings>(sshPath(robot.robot_id), { method: 'PUT', body }),
    onSuccess: (s) => {
      client.setQueryData(['robots', 'ssh', robot.robot_id], s);
      toast.push({ title: 'SSH settings saved', tone: 'success' });
      onDone();
    },
  });
  const errors = fieldErrors(save.error);
  const error = (key: keyof typeof ids) =>
    errors[key] ? (
      <p id={`${ids[key]}-error`} className="mt-1 text-sm text-red-700 dark:text-red-400">
        {errors[key]}
      </p>
    ) : null;
  const described = (key: keyof typeof ids) =>
    errors[key] ? { 'aria-invalid': true, 'aria-describedby': `${ids[key]}-error` } : {};
  const label = 'mb-1 block text-sm font-medium';
  const hint = 'font-normal text-slate-600 dark:text-slate-400';
  return (
    <form
      aria-label="SSH settings"
      className="grid gap-3 sm:grid-cols-2"
      onSubmit={(e) => {
        e.preventDefault();
        const body: PutRobotSshRequest = {
          host: host.trim() || null,
          port: Number(port),
          username: username.trim(),
          transcript,
        };
        if (password) body.password = password;
        if (privateKey.trim()) {
          body.private_key = privateKey.trim();
          body.passphrase = passphrase || null;
        }
        save.mutate(body);
      }}
    >
      <div>
        <label htmlFor={ids.host} className={label}>
          Host{' '}
          <span className={hint}>
            (empty: the robot's IP{robot.ip_address ? `, ${robot.ip_address}` : ''})
          </span>
        </label>
        <input
          id={ids.host}
          className={inputClass}
          value={host}
          maxLength={253}
          placeholder={robot.ip_address ?? '10.0.0.7'}
          onChange={(e) => setHost(e.target.value)}
          {...described('host')}
        />
        {error('host')}
      </div>
      <div>
        <label htmlFor={ids.port} className={label}>
          Port
        </label>
        <input
          id={ids.port}
          className={inputClass}
          inputMode="numeric"
          value={port}
          onChange={(e) => setPort(e.target.value)}
          {...described('port')}
        />
        {error('port')}
      </div>
      <div>
        <label htmlFor={ids.username} className={label}>
          Username
        </label>
        <input
          id={ids.username}
          className={inputClass}
          value={username}
          maxLength={64}
          autoComplete="off"
          required
          onChange={(e) => setUsername(e.target.value)}
          {...described('username')}
        />
        {error('username')}
      </div>
      <div>
        <label htmlFor={ids.password} className={label}>
          Password{' '}
          <span className={hint}>
            {current?.has_password ? '(set: leave empty to keep it)' : '(or a private key)'}
          </span>
        </label>
        <input
          id={ids.password}
          type="password"
          className={inputClass}
          value={password}
          autoComplete="new-password"
          onChange={(e) => setPassword(e.target.value)}
          {...described('password')}
        />
        {error('password')}
      </div>
      <div className="sm:col-span-2">
        <label htmlFor={ids.private_key} className={label}>
          Private key{' '}
          <span className={hint}>
            {current?.has_private_key
              ? `(${current.private_key_type ?? 'set'}: leave empty to keep it)`
              : '(OpenSSH or PEM, optional)'}
          </span>
        </label>
        <textarea
          id={ids.private_key}
          className={`${inputClass} font-mono`}
          rows={3}
          value={privateKey}
          spellCheck={false}
          placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
          onChange={(e) => setPrivateKey(e.target.value)}
          {...described('private_key')}
        />
        {error('private_key')}
      </div>
      {privateKey.trim() && (
        <div>
          <label htmlFor={ids.passphrase} className={label}>
            Key passphrase <span className={hint}>(if it has one)</span>
          </label>
          <input
            id={ids.passphrase}
            type="password"
            className={inputClass}
            value={passphrase}
            autoComplete="off"
            onChange={(e) => setPassphrase(e.target.value)}
            {...described('passphrase')}
          />
          {error('passphrase')}
        </div>
      )}
      <div className="flex items-center gap-2 sm:col-span-2">
        <input
          id={ids.transcript}
          type="checkbox"
          checked={transcript}
          onChange={(e) => setTranscript(e.target.checked)}
          className="size-4"
        />
        <label htmlFor={ids.transcript} className="text-sm">
          Keep a transcript of each session (what the terminal showed, up to 1 MB)
        </label>
      </div>
      {save.isError && Object.keys(errors).length === 0 && (
        <p role="alert" className="text-sm text-red-700 sm:col-span-2 dark:text-red-400">
          {save.error.message}
        </p>
      )}
      <div className="flex gap-2 sm:col-span-2">
        <Button type="submit" tone="primary" busy={save.isPending}>
          Save
        </Button>
        {current && <Button onClick={onDone}>Cancel</Button>}
      </div>
    </form>
  );
}

function Summary({ robot, settings }: { robot: Robot; settings: ConfiguredSsh }) {
  const canRetrust = useCan('robots:manage');
  const [confirm, setConfirm] = useState<'retrust' | 'remove' | null>(null);
  const client = useQueryClient();
  const toast = useToast();
  const test = useMutation({
    mutationFn: () => api<SshTestResult>(`${sshPath(robot.robot_id)}/test`, { method: 'POST' }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['robots', 'ssh', robot.robot_id] }),
  });
  const retrust = useMutation({
    mutationFn: () => api<ConfiguredSsh>(`${sshPath(robot.robot_id)}/retrust`, { method: 'POST' }),
    onSuccess: (s) => {
      client.setQueryData(['robots', 'ssh', robot.robot_id], s);
      setConfirm(null);
      toast.push({
        title: 'Host key forgotten',
        description: 'The next connection pins the key the robot presents.',
      });
    },
  });
  const remove = useMutation({
    mutationFn: () => api<null>(sshPath(robot.robot_id), { method: 'DELETE' }),
    onSuccess: () => {
      setConfirm(null);
      void client.invalidateQueries({ queryKey: ['robots', 'ssh', robot.robot_id] });
    },
  });
  const auth = [
    settings.has_password && 'password',
    settings.has_private_key && `key (${settings.private_key_type})`,
  ]
    .filter(Boolean)
    .join(' and ');
  return (
    <div className="space-y-3">
      <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1 text-sm">
        <dt className="text-slate-600 dark:text-slate-400">Connects to</dt>
        <dd className="font-mono break-all" data-testid="ssh-target">
          {settings.username}@{settings.effective_host ?? '(no address yet)'}:{settings.port}
          {settings.host === null && (
            <span className="font-sans text-slate-600 dark:text-slate-400"> (the robot's IP)</span>
          )}
        </dd>
        <dt className="text-slate-600 dark:text-slate-400">Signs in with</dt>
        <dd>{auth}</dd>
        <dt className="text-slate-600 dark:text-slate-400">Host key</dt>
        <dd data-testid="ssh-host-key">
          {settings.host_key ? (
            <>
              <code className="break-all">{settings.host_key.fingerprint}</code> ({settings.host_key.type}),
              pinned <Time value={settings.host_key.pinned_at} />
            </>
          ) : (
            'none yet: pinned at the first connection'
          )}
        </dd>
        <dt className="text-slate-600 dark:text-slate-400">Transcripts</dt>
        <dd>{settings.transcript ? 'kept' : 'off'}</dd>
      </dl>
      <div className="flex flex-wrap gap-2">
        <Button busy={test.isPending} onClick={() => test.mutate()}>
          <PlugZap aria-hidden className="size-4" /> Test connection
        </Button>
        {canRetrust && settings.host_key && (
          <Button onClick={() => setConfirm('retrust')}>
            <ShieldAlert aria-hidden className="size-4" /> Re-trust host key
          </Button>
        )}
        <Button tone="ghost" onClick={() => setConfirm('remove')}>
          <X aria-hidden className="size-4" /> Remove settings
        </Button>
      </div>
      {test.isSuccess && (
        <p
          role="status"
          className="text-sm text-emerald-800 dark:text-emerald-300"
          data-testid="ssh-test-result"
        >
          Signed in to {test.data.host}:{test.data.port} in {test.data.connect_ms} ms
          {test.data.first_use ? '; its host key is now pinned' : ''}.
        </p>
      )}
      {test.isError && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400" data-testid="ssh-test-result">
          {test.error.message}
        </p>
      )}
      <Dialog
        open={confirm !== null}
        onOpenChange={(o) => !o && setConfirm(null)}
        title={confirm === 'retrust' ? 'Re-trust the host key?' : 'Remove the SSH settings?'}
        description={
          confirm === 'retrust'
            ? `Do this only when you know why ${robot.robot_id}'s key changed (reinstalled, new SD card). The next connection pins whatever key it presents.`
            : 'The password, the key and the pinned host key are deleted. Open terminals stay open.'
        }
      >
        {(retrust.isError || remove.isError) && (
          <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
            {(retrust.error ?? remove.error)?.message}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setConfirm(null)}>Cancel</Button>
          <Button
            tone="danger"
            busy={retrust.isPending || remove.isPending}
            onClick={() => (confirm === 'retrust' ? retrust.mutate() : remove.mutate())}
          >
            {confirm === 'retrust' ? 'Re-trust' : 'Remove'}
          </Button>
        </div>
      </Dialog>
    </div>
  );
}

function Sessions({ robotId }: { robotId: string }) {
  const q = useQuery({
    queryKey: ['robots', 'ssh-sessions', robotId],
    queryFn: ({ signal }) => api<SshSessionList>(`${sshPath(robotId)}/sessions`, { signal }),
    refetchInterval: 15_000,
  });
  if (q.isPending) return <Loading label="Loading sessions…" />;
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  if (q.data.items.length === 0)
    return (
      <p className="text-sm text-slate-600 dark:text-slate-400">No terminal session to this robot yet.</p>
    );
  const th = 'px-2 py-1 text-left font-medium';
  return (
    <ScrollRegion label="Terminal sessions">
      <table className="w-full min-w-[40rem] text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
            <th className={th}>Started</th>
            <th className={th}>User</th>
            <th className={th}>From</th>
            <th className={th}>Length</th>
            <th className={`${th} text-right`}>Typed</th>
            <th className={`${th} text-right`}>Shown</th>
            <th className={th}>Ended</th>
            <th className={th}>
              <span className="sr-only">Transcript</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {q.data.items.map((s) => (
            <tr
              key={s.id}
              className="border-b border-slate-100 dark:border-slate-800/60"
              data-testid="ssh-session"
            >
              <td className="px-2 py-1 whitespace-nowrap">
                <Time value={s.started_at} />
              </td>
              <td className="px-2 py-1">{s.username ?? '—'}</td>
              <td className="px-2 py-1 font-mono text-xs">{s.remote_addr ?? '—'}</td>
              <td className="px-2 py-1 whitespace-nowrap">{duration(s.started_at, s.ended_at)}</td>
              <td className="px-2 py-1 text-right tabular-nums">{formatBytes(s.bytes_in)}</td>
              <td className="px-2 py-1 text-right tabular-nums">{formatBytes(s.bytes_out)}</td>
              <td className="px-2 py-1">{s.error_code ?? s.end_reason ?? '—'}</td>
              <td className="px-2 py-1">
                {s.has_transcript && (
                  <a
                    href={`/api/v1/ssh/sessions/${s.id}/transcript`}
                    className="inline-flex items-center gap-1 underline"
                    download
                  >
                    <Download aria-hidden className="size-4" /> Transcript
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

/**
 * A shell on the robot (operators and admins): its SSH settings, a connection test, terminals inline or in a
 * window of their own, and (admins) who opened which session.
 */
export function TerminalTab({ robot }: { robot: Robot }) {
  const canAudit = useCan('audit:read');
  const [editing, setEditing] = useState(false);
  const [open, setOpen] = useState(false);
  const client = useQueryClient();
  // A session opened (its host key perhaps pinned just now) or ended: the settings and the list say so.
  const onConnection = (c: TerminalConnection) => {
    if (c.state === 'connecting') return;
    void client.invalidateQueries({ queryKey: ['robots', 'ssh', robot.robot_id] });
    void client.invalidateQueries({ queryKey: ['robots', 'ssh-sessions', robot.robot_id] });
  };
  const settings = useQuery({
    queryKey: ['robots', 'ssh', robot.robot_id],
    queryFn: ({ signal }) => api<RobotSshSettings>(sshPath(robot.robot_id), { signal }),
  });
  if (settings.isPending) return <Loading label="Loading SSH settings…" />;
  if (settings.isError) return <ErrorState error={settings.error} retry={() => void settings.refetch()} />;
  const s = settings.data.configured ? settings.data : null;
  const fullWindow = `/robots/${encodeURIComponent(robot.robot_id)}/terminal`;
  return (
    <div className="space-y-4">
      <Card className="p-4">
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <h2 className="font-semibold">SSH</h2>
          {s && !editing && (
            <Button size="sm" onClick={() => setEditing(true)}>
              <Pencil aria-hidden className="size-4" /> Edit settings
            </Button>
          )}
        </div>
        {!s && (
          <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
            This robot has no SSH settings yet. The server connects for you: the browser never sees the
            password or key, and the robot's host key is pinned at the first connection.
          </p>
        )}
        {!s || editing ? (
          <SettingsForm robot={robot} current={s ?? undefined} onDone={() => setEditing(false)} />
        ) : (
          <Summary robot={robot} settings={s} />
        )}
      </Card>
      {s && (
        <Card className="p-4">
          <div className="mb-3 flex flex-wrap items-center gap-2">
            <h2 className="mr-auto font-semibold">Terminal</h2>
            {open ? (
              <Button size="sm" onClick={() => setOpen(false)}>
                <X aria-hidden className="size-4" /> Close terminal
              </Button>
            ) : (
              <Button size="sm" tone="primary" onClick={() => setOpen(true)}>
                <SquareTerminal aria-hidden className="size-4" /> Open terminal
              </Button>
            )}
            <a
              href={fullWindow}
              target="_blank"
              rel="noopener"
              className="inline-flex items-center gap-1 rounded-md px-2.5 py-1 text-sm font-medium text-slate-700 hover:bg-slate-200/70 dark:text-slate-200 dark:hover:bg-slate-800"
            >
              <ExternalLink aria-hidden className="size-4" /> Full window
            </a>
          </div>
          {open ? (
            <Suspense fallback={<Loading label="Loading the terminal…" />}>
              <TerminalView robotId={robot.robot_id} className="h-[28rem]" onConnection={onConnection} />
            </Suspense>
          ) : (
            <p className="text-sm text-slate-600 dark:text-slate-400">
              Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes. Closed after a while without input or
              output.
            </p>
          )}
        </Card>
      )}
      {canAudit && s && (
        <Card className="p-4">
          <h2 className="mb-3 font-semibold">Sessions</h2>
          <Sessions robotId={robot.robot_id} />
        </Card>
      )}
    </div>
  );
}
