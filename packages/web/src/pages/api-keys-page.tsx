import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { roleAtMost } from '@tonypi/contracts/roles';
import { Plus } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import type { ApiKey, ApiKeyCreated, ApiKeyList, Role } from '../api/types';
import { useCan, useMe } from '../auth/auth';
import { Dialog } from '../components/dialog';
import { useToast } from '../components/toasts';
import {
  Button,
  Card,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  Time,
} from '../components/ui';
import {
  ConfirmDialog,
  Field,
  FormError,
  SecretValue,
  ShownOnce,
  selectClass,
  td,
  th,
} from './admin/admin-ui';
import { NotAllowed } from './admin/not-allowed';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];
const EXPIRIES = [
  ['30', '30 days'],
  ['90', '90 days'],
  ['365', '1 year'],
  ['', 'Never'],
] as const;

function CreateKeyDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const me = useMe();
  const client = useQueryClient();
  const roles = ROLES.filter((r) => roleAtMost(r, me.role));
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [days, setDays] = useState('90');
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<ApiKeyCreated>('/api-keys', { method: 'POST', body }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  function close(next: boolean) {
    if (!next) {
      create.reset();
      setName('');
      setRole('viewer');
      setDays('90');
    }
    onOpenChange(next);
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ name: name.trim(), role, ...(days ? { expires_in_days: Number(days) } : {}) });
  }
  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title={create.data ? `API key ${create.data.name}` : 'Create an API key'}
    >
      {create.data ? (
        <div className="flex flex-col gap-3">
          <ShownOnce>
            The key is shown only now (the server keeps a keyed hash). Copy it before you close this window.
          </ShownOnce>
          <SecretValue label="API key" value={create.data.key} testId="api-key-secret" />
          <p className="text-sm text-slate-700 dark:text-slate-300">
            Send it as <code>Authorization: Bearer …</code>; it acts as {create.data.role} at most.
          </p>
          <div className="flex justify-end">
            <Button tone="primary" onClick={() => close(false)}>
              I have stored the key
            </Button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label="Name" htmlFor="key-name" hint="What uses it, e.g. grafana or nightly-export.">
            <input
              id="key-name"
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
              className={inputClass}
              autoComplete="off"
            />
          </Field>
          <Field label="Role" htmlFor="key-role" hint="No higher than your own.">
            <select
              id="key-role"
              className={selectClass}
              value={role}
              onChange={(e) => setRole(e.target.value as Role)}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Expires" htmlFor="key-expiry">
            <select
              id="key-expiry"
              className={selectClass}
              value={days}
              onChange={(e) => setDays(e.target.value)}
            >
              {EXPIRIES.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <FormError error={create.error} />
          <div className="flex justify-end gap-2">
            <Button onClick={() => close(false)}>Cancel</Button>
            <Button type="submit" tone="primary" busy={create.isPending}>
              Create
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function keyState(key: ApiKey): string {
  if (key.revoked_at) return 'Revoked';
  if (key.expires_at && Date.parse(key.expires_at) <= Date.now()) return 'Expired';
  if (key.created_by === null) return 'Creator deleted';
  return 'Active';
}

/** API keys for automation: create (shown once), list, revoke. */
export default function ApiKeysPage() {
  if (!useCan('api_keys:manage')) return <NotAllowed what="API keys" />;
  return <ApiKeys />;
}

function ApiKeys() {
  const client = useQueryClient();
  const toast = useToast();
  const [createOpen, setCreateOpen] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey>();
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: ({ signal }) => api<ApiKeyList>('/api-keys', { signal }),
  });
  const revoke = useMutation({
    mutationFn: (key: ApiKey) =>
      api<undefined>(`/api-keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' }),
    onSuccess: (_, key) => {
      setRevoking(undefined);
      toast.push({ tone: 'success', title: `Revoked ${key.name}` });
      void client.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const items = keys.data?.items ?? [];
  return (
    <div>
      <PageHeader title="API keys">
        <Button tone="primary" onClick={() => setCreateOpen(true)}>
          <Plus aria-hidden className="size-4" /> Create an API key
        </Button>
      </PageHeader>
      <Card>
        {keys.isPending ? (
          <Loading label="Loading API keys…" />
        ) : keys.isError ? (
          <ErrorState error={keys.error} retry={() => void keys.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title="No API keys yet">
            Create one for a script or a dashboard that reads the API.
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full">
              <thead className="border-b border-slate-200 dark:border-slate-800">
                <tr>
                  <th className={th}>Name</th>
                  <th className={th}>Role</th>
                  <th className={th}>State</th>
                  <th className={th}>Created</th>
                  <th className={th}>Expires</th>
                  <th className={th}>Last used</th>
                  <th className={th}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {items.map((key) => (
                  <tr key={key.id} data-testid={`api-key-row-${key.name}`}>
                    <td className={`${td} font-medium`}>{key.name}</td>
                    <td className={td}>{key.role}</td>
                    <td className={td}>{keyState(key)}</td>
                    <td className={td}>
                      <Time value={key.created_at} />
                    </td>
                    <td className={td}>{key.expires_at ? <Time value={key.expires_at} /> : 'never'}</td>
                    <td className={td}>{key.last_used_at ? <Time value={key.last_used_at} /> : 'never'}</td>
                    <td className={`${td} text-right`}>
                      {!key.revoked_at && (
                        <Button
                          size="sm"
                          onClick={() => {
                            revoke.reset();
                            setRevoking(key);
                          }}
                        >
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <CreateKeyDialog open={createOpen} onOpenChange={setCreateOpen} />
      <ConfirmDialog
        open={revoking !== undefined}
        onOpenChange={(o) => !o && setRevoking(undefined)}
        title={`Revoke ${revoking?.name ?? ''}?`}
        description="The key is refused from now on and live-stream sockets it opened are closed. This cannot be undone."
        confirmLabel="Revoke"
        busy={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </div>
  );
}
