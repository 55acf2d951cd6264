import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client';
import type { RobotWithCredentials } from '../../api/types';
import { Dialog } from '../../components/dialog';
import { Button, inputClass } from '../../components/ui';
import { Field, FormError, SecretValue, ShownOnce } from '../admin/admin-ui';

/** The command that starts the agent (simulator) as this robot, with its own credentials. */
export function agentCommand(creds: RobotWithCredentials['mqtt']): string {
  const quote = (v: string) => (/^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);
  return `npm run simulate -- --robots 1 --broker ${quote(creds.url)} --username ${quote(creds.username)} --password ${quote(creds.password)}`;
}

/** What POST /robots answered: the secret, shown while this view is open and never again. */
export function CredentialsView({ result, claimed }: { result: RobotWithCredentials; claimed: boolean }) {
  return (
    <div className="flex flex-col gap-3" data-testid="robot-credentials">
      <p className="text-sm">
        {claimed ? 'Claimed' : 'Registered'} <strong>{result.robot.robot_id}</strong>. It connects with
        username = client id = its robot id and this password.
      </p>
      <ShownOnce>
        The password is shown only now: the server keeps a keyed hash of it. Copy it before you close this
        window; if it is lost, rotate the credentials.
      </ShownOnce>
      <SecretValue label="Username" value={result.mqtt.username} />
      <SecretValue label="Password" value={result.mqtt.password} testId="robot-secret" />
      <SecretValue label="Broker" value={result.mqtt.url} />
      <SecretValue label="Agent command line" value={agentCommand(result.mqtt)} testId="agent-command" />
    </div>
  );
}

/**
 * Registers a new robot, or claims one that registered itself (`claimId`): both are POST /robots, and both
 * answer the robot's MQTT credentials once.
 */
export function RegisterRobotDialog({
  open,
  onOpenChange,
  claimId,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  claimId?: string;
}) {
  const client = useQueryClient();
  const [robotId, setRobotId] = useState('');
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const mutation = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<RobotWithCredentials>('/robots', { method: 'POST', body }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['robots'] }),
  });
  function close(next: boolean) {
    if (!next) {
      // The secret lives only in this dialog's state: closing it forgets it for good.
      mutation.reset();
      setRobotId('');
      setName('');
      setTags('');
    }
    onOpenChange(next);
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    const tagList = tags
      .split(/[\s,]+/)
      .map((t) => t.trim())
      .filter(Boolean);
    mutation.mutate({
      robot_id: claimId ?? robotId.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(tagList.length ? { tags: tagList } : {}),
    });
  }
  const title = mutation.data ? 'Robot credentials' : claimId ? `Claim ${claimId}` : 'Register a robot';
  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title={title}
      wide
      description={
        mutation.data
          ? undefined
          : claimId
            ? 'The robot registered itself. Claiming it gives it MQTT credentials: from then on it connects with them only, and its anonymous session is closed.'
            : 'The robot gets MQTT credentials of its own, shown once.'
      }
    >
      {mutation.data ? (
        <>
          <CredentialsView result={mutation.data} claimed={claimId !== undefined} />
          <div className="mt-4 flex justify-end">
            <Button tone="primary" onClick={() => close(false)}>
              I have stored the password
            </Button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          {!claimId && (
            <Field
              label="Robot id"
              htmlFor="register-robot-id"
              hint="Letters, digits, _ and -, at most 64; not a word of the legacy topics (sensors, status, …)."
            >
              <input
                id="register-robot-id"
                required
                maxLength={64}
                pattern="[A-Za-z0-9_\-]{1,64}"
                value={robotId}
                onChange={(e) => setRobotId(e.target.value)}
                className={inputClass}
                autoComplete="off"
              />
            </Field>
          )}
          <Field label="Name (optional)" htmlFor="register-robot-name">
            <input
              id="register-robot-name"
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
              className={inputClass}
            />
          </Field>
          <Field label="Tags (optional)" htmlFor="register-robot-tags" hint="Separated by commas or spaces.">
            <input
              id="register-robot-tags"
              value={tags}
              onChange={(e) => setTags(e.target.value)}
              className={inputClass}
            />
          </Field>
          <FormError error={mutation.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => close(false)}>Cancel</Button>
            <Button type="submit" tone="primary" busy={mutation.isPending}>
              {claimId ? 'Claim' : 'Register'}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
