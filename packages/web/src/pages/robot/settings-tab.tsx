import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Check, Copy, KeyRound } from 'lucide-react';
import { useId, useState } from 'react';
import { Link } from 'react-router';
import { ApiError, api } from '../../api/client';
import type { Robot, RobotWithCredentials, UpdateRobotRequest } from '../../api/types';
import { useCan } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import { Button, Card, cx, inputClass } from '../../components/ui';

/** A word for a POSIX shell: quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** The agent's command line for these credentials (README, "Robots and their credentials"). */
export function agentCommand(mqtt: RobotWithCredentials['mqtt']): string {
  return [
    'npm run simulate -- --robots 1',
    `--broker ${shellQuote(mqtt.url)}`,
    `--username ${shellQuote(mqtt.username)}`,
    `--password ${shellQuote(mqtt.password)}`,
  ].join(' ');
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const toast = useToast();
  return (
    <Button
      size="sm"
      onClick={() => {
        navigator.clipboard.writeText(text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 2000);
          },
          () =>
            toast.push({
              title: 'Copying failed',
              description: 'Select the text and copy it.',
              tone: 'error',
            }),
        );
      }}
    >
      {copied ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
      {copied ? 'Copied' : label}
    </Button>
  );
}

/** A validation error's messages by body field (`body.name` → `name`), for the form's fields. */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError && err.code === 'validation_error')
    for (const f of (err.details as { fields?: { field: string; message: string }[] } | undefined)?.fields ??
      []) {
      const m = /^body\.([a-z_]+)/.exec(f.field);
      if (m?.[1]) out[m[1]] = out[m[1]] ? `${out[m[1]]}; ${f.message}` : f.message;
    }
  return out;
}

function EditForm({ robot, canEdit }: { robot: Robot; canEdit: boolean }) {
  const [name, setName] = useState(robot.name ?? '');
  const [description, setDescription] = useState(robot.description ?? '');
  const [tags, setTags] = useState(robot.tags.join(', '));
  const client = useQueryClient();
  const toast = useToast();
  const ids = { name: useId(), description: useId(), tags: useId() };
  const save = useMutation({
    mutationFn: (body: UpdateRobotRequest) =>
      api<Robot>(`/robots/${encodeURIComponent(robot.robot_id)}`, { method: 'PATCH', body }),
    onSuccess: (r) => {
      client.setQueryData(['robots', 'one', robot.robot_id], r);
      void client.invalidateQueries({ queryKey: ['robots'] });
      toast.push({ title: 'Robot saved', tone: 'success' });
    },
  });
  const errors = fieldErrors(save.error);
  const err = (key: 'name' | 'description' | 'tags') =>
    errors[key] ? (
      <p id={`${ids[key]}-error`} className="mt-1 text-sm text-red-700 dark:text-red-400">
        {errors[key]}
      </p>
    ) : null;
  const described = (key: 'name' | 'description' | 'tags') =>
    errors[key] ? { 'aria-invalid': true, 'aria-describedby': `${ids[key]}-error` } : {};
  return (
    <form
      className="space-y-3"
      aria-label="Robot details"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({
          name: name.trim() || null,
          description: description.trim() || null,
          tags: tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        });
      }}
    >
      <div>
        <label htmlFor={ids.name} className="mb-1 block text-sm font-medium">
          Name
        </label>
        <input
          id={ids.name}
          className={inputClass}
          value={name}
          maxLength={100}
          disabled={!canEdit}
          placeholder={robot.robot_id}
          onChange={(e) => setName(e.target.value)}
          {...described('name')}
        />
        {err('name')}
      </div>
      <div>
        <label htmlFor={ids.description} className="mb-1 block text-sm font-medium">
          Description
        </label>
        <textarea
          id={ids.description}
          className={inputClass}
          rows={3}
          value={description}
          maxLength={2000}
          disabled={!canEdit}
          onChange={(e) => setDescription(e.target.value)}
          {...described('description')}
        />
        {err('description')}
      </div>
      <div>
        <label htmlFor={ids.tags} className="mb-1 block text-sm font-medium">
          Tags <span className="font-normal text-slate-600 dark:text-slate-400">(comma-separated)</span>
        </label>
        <input
          id={ids.tags}
          className={inputClass}
          value={tags}
          disabled={!canEdit}
          placeholder="aisle-3, night-shift"
          onChange={(e) => setTags(e.target.value)}
          {...described('tags')}
        />
        {err('tags')}
      </div>
      {save.isError && Object.keys(errors).length === 0 && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {save.error.message}
        </p>
      )}
      {canEdit ? (
        <Button type="submit" tone="primary" busy={save.isPending}>
          Save
        </Button>
      ) : (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Your role can see these settings, not change them.
        </p>
      )}
    </form>
  );
}

function Credentials({ robot }: { robot: Robot }) {
  const [confirm, setConfirm] = useState(false);
  const [shown, setShown] = useState<RobotWithCredentials['mqtt']>();
  const client = useQueryClient();
  const rotate = useMutation({
    mutationFn: () =>
      api<RobotWithCredentials>(`/robots/${encodeURIComponent(robot.robot_id)}/credentials/rotate`, {
        method: 'POST',
      }),
    onSuccess: (res) => {
      setShown(res.mqtt);
      setConfirm(false);
      client.setQueryData(['robots', 'one', robot.robot_id], res.robot);
    },
  });
  if (!robot.has_credentials)
    return (
      <p className="text-sm text-slate-700 dark:text-slate-300">
        This robot has no credentials{robot.anonymous ? ': it connects anonymously' : ''}. Register it (claim
        it) on the Robots page to give it a secret of its own.
      </p>
    );
  const command = shown ? agentCommand(shown) : '';
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700 dark:text-slate-300">
        The robot connects with username and client id <code>{robot.robot_id}</code> and its secret. Rotating
        gives it a new secret: the old one stops working and the robot is disconnected until it uses the new
        one.
      </p>
      {shown ? (
        <div className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-700 dark:bg-amber-950">
          <p className="text-sm font-medium text-amber-900 dark:text-amber-100">
            Shown once: copy it now. The server keeps only a hash.
          </p>
          <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-1 text-sm">
            <dt>Username</dt>
            <dd className="font-mono break-all">{shown.username}</dd>
            <dt>Password</dt>
            <dd className="font-mono break-all" data-testid="mqtt-password">
              {shown.password}
            </dd>
            <dt>Broker</dt>
            <dd className="font-mono break-all">{shown.url}</dd>
          </dl>
          <CopyButton text={shown.password} label="Copy password" />
          <p className="pt-2 text-sm">The agent's command line:</p>
          <pre
            data-testid="agent-command"
            className="overflow-x-auto rounded bg-slate-900 p-2 text-xs whitespace-pre-wrap break-all text-slate-100"
          >
            {command}
          </pre>
          <CopyButton text={command} label="Copy command line" />
        </div>
      ) : null}
      <Button tone="danger" onClick={() => setConfirm(true)}>
        <KeyRound aria-hidden className="size-4" /> Rotate credentials
      </Button>
      <Dialog
        open={confirm}
        onOpenChange={setConfirm}
        title={`Rotate ${robot.robot_id}'s credentials?`}
        description="Its current secret stops working at once and its MQTT session is closed. It reconnects only with the new secret."
      >
        {rotate.isError && (
          <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
            {rotate.error.message}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setConfirm(false)}>Cancel</Button>
          <Button tone="danger" busy={rotate.isPending} onClick={() => rotate.mutate()}>
            Rotate
          </Button>
        </div>
      </Dialog>
    </div>
  );
}

export function SettingsTab({ robot }: { robot: Robot }) {
  const canManage = useCan('robots:manage');
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card className="p-4">
        <h2 className="mb-3 font-medium">Details</h2>
        <EditForm key={robot.robot_id} robot={robot} canEdit={canManage} />
      </Card>
      <div className="space-y-4">
        <Card className="p-4">
          <h2 className="mb-2 font-medium">Alert rules</h2>
          <p className="mb-2 text-sm text-slate-700 dark:text-slate-300">
            Thresholds for this robot: its own rules and the fleet's rules it inherits.
          </p>
          <Link
            to={`/alerts/rules?robot=${encodeURIComponent(robot.robot_id)}`}
            className={cx('text-sm font-medium text-teal-800 underline dark:text-teal-300')}
          >
            This robot's alert rules
          </Link>
        </Card>
        {canManage && (
          <Card className="p-4">
            <h2 className="mb-2 font-medium">MQTT credentials</h2>
            <Credentials robot={robot} />
          </Card>
        )}
      </div>
    </div>
  );
}
