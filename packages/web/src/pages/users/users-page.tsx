import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Plus } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client';
import type { Role, UserAccount, UserList, UserWithTemporaryPassword } from '../../api/types';
import { useCan, useMe } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import {
  Button,
  Card,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  Time,
} from '../../components/ui';
import {
  ConfirmDialog,
  Field,
  FormError,
  Pager,
  SecretValue,
  ShownOnce,
  selectClass,
  td,
  th,
  useUrlState,
} from '../admin/admin-ui';
import { NotAllowed } from '../admin/not-allowed';

const LIMIT = 25;
const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** A temporary password the server generated: shown in this view only. */
function TemporaryPassword({ username, password }: { username: string; password: string }) {
  return (
    <div className="flex flex-col gap-3">
      <ShownOnce>
        This temporary password is shown only now. Give it to {username}: they must choose their own at first
        sign-in.
      </ShownOnce>
      <SecretValue label="Temporary password" value={password} testId="temporary-password" />
    </div>
  );
}

function CreateUserDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const client = useQueryClient();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [mode, setMode] = useState<'generate' | 'set'>('generate');
  const [password, setPassword] = useState('');
  const [mustChange, setMustChange] = useState(true);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<UserWithTemporaryPassword>('/users', { method: 'POST', body }),
    onSuccess: (res) => {
      void client.invalidateQueries({ queryKey: ['users'] });
      if (!res.temporary_password) close(false);
    },
  });
  function close(next: boolean) {
    if (!next) {
      create.reset();
      setUsername('');
      setEmail('');
      setRole('viewer');
      setMode('generate');
      setPassword('');
      setMustChange(true);
    }
    onOpenChange(next);
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({
      username: username.trim(),
      email: email.trim(),
      role,
      ...(mode === 'set' ? { password, must_change_password: mustChange } : {}),
    });
  }
  const created = create.data?.temporary_password ? create.data : undefined;
  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title={created ? `Created ${created.user.username}` : 'Create a user'}
    >
      {created?.temporary_password ? (
        <>
          <TemporaryPassword username={created.user.username} password={created.temporary_password} />
          <div className="mt-4 flex justify-end">
            <Button tone="primary" onClick={() => close(false)}>
              Done
            </Button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label="Username" htmlFor="new-user-name">
            <input
              id="new-user-name"
              required
              maxLength={50}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              className={inputClass}
              autoComplete="off"
            />
          </Field>
          <Field label="E-mail" htmlFor="new-user-email">
            <input
              id="new-user-email"
              type="email"
              required
              maxLength={100}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              className={inputClass}
              autoComplete="off"
            />
          </Field>
          <Field label="Role" htmlFor="new-user-role">
            <select
              id="new-user-role"
              className={selectClass}
              value={role}
              onChange={(e) => setRole(e.target.value as Role)}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
          <fieldset className="flex flex-col gap-1 text-sm">
            <legend className="mb-1 font-medium">Password</legend>
            <label className="flex items-center gap-2">
              <input
                type="radio"
                name="pw-mode"
                checked={mode === 'generate'}
                onChange={() => setMode('generate')}
              />
              Generate a temporary one (shown once; the user sets their own at first sign-in)
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name="pw-mode" checked={mode === 'set'} onChange={() => setMode('set')} />
              Set one now
            </label>
          </fieldset>
          {mode === 'set' && (
            <>
              <Field label="Initial password" htmlFor="new-user-password" hint="At least 12 characters.">
                <input
                  id="new-user-password"
                  type="password"
                  required
                  minLength={12}
                  maxLength={256}
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  className={inputClass}
                  autoComplete="new-password"
                />
              </Field>
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={mustChange}
                  onChange={(e) => setMustChange(e.target.checked)}
                />
                Must change it at first sign-in
              </label>
            </>
          )}
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

type Pending =
  | { kind: 'role'; user: UserAccount; role: Role }
  | { kind: 'active'; user: UserAccount; active: boolean }
  | { kind: 'reset'; user: UserAccount }
  | { kind: 'delete'; user: UserAccount };

function describe(p: Pending): { title: string; text: string; label: string; tone: 'danger' | 'primary' } {
  const name = p.user.username;
  switch (p.kind) {
    case 'role':
      return {
        title: `Make ${name} ${p.role}?`,
        text: `${name}'s sessions end at once; they sign in again as ${p.role}.`,
        label: `Make ${p.role}`,
        tone: 'primary',
      };
    case 'active':
      return p.active
        ? { title: `Enable ${name}?`, text: `${name} may sign in again.`, label: 'Enable', tone: 'primary' }
        : {
            title: `Disable ${name}?`,
            text: `${name}'s sessions end at once and they cannot sign in until enabled. Their API keys stop working.`,
            label: 'Disable',
            tone: 'danger',
          };
    case 'reset':
      return {
        title: `Reset ${name}'s password?`,
        text: `A temporary password is generated (shown once); ${name}'s sessions end at once and they must choose a new password at next sign-in.`,
        label: 'Reset password',
        tone: 'danger',
      };
    case 'delete':
      return {
        title: `Delete ${name}?`,
        text: `${name}'s account and sessions end for good, and the API keys they created stop working. This cannot be undone.`,
        label: 'Delete',
        tone: 'danger',
      };
  }
}

function doneMessage(p: Pending): string {
  const name = p.user.username;
  if (p.kind === 'role') return `${name} is now ${p.role}`;
  if (p.kind === 'active') return `${name} ${p.active ? 'enabled' : 'disabled'}`;
  if (p.kind === 'reset') return `${name}'s password was reset`;
  return `Deleted ${name}`;
}

/** Users (admin): list with filters in the URL, create, change role, disable/enable, reset password, delete. */
export default function UsersPage() {
  const allowed = useCan('users:manage');
  if (!allowed) return <NotAllowed what="users" />;
  return <Users />;
}

function Users() {
  const me = useMe();
  const url = useUrlState();
  const client = useQueryClient();
  const toast = useToast();
  const [createOpen, setCreateOpen] = useState(false);
  const [pending, setPending] = useState<Pending>();
  const [reset, setReset] = useState<{ username: string; password: string }>();
  const query = {
    search: url.get('q') || undefined,
    role: url.get('role') || undefined,
    active: url.get('active') || undefined,
    limit: LIMIT,
    offset: Number(url.get('offset')) || 0,
  };
  const users = useQuery({
    queryKey: ['users', query],
    queryFn: ({ signal }) => api<UserList>('/users', { query, signal }),
    placeholderData: keepPreviousData,
  });
  const act = useMutation({
    mutationFn: async (p: Pending) => {
      const path = `/users/${encodeURIComponent(p.user.id)}`;
      if (p.kind === 'role') return api<UserAccount>(path, { method: 'PATCH', body: { role: p.role } });
      if (p.kind === 'active')
        return api<UserAccount>(path, { method: 'PATCH', body: { is_active: p.active } });
      if (p.kind === 'reset')
        return api<UserWithTemporaryPassword>(`${path}/reset-password`, { method: 'POST', body: {} });
      return api<undefined>(path, { method: 'DELETE' });
    },
    onSuccess: (res, p) => {
      setPending(undefined);
      void client.invalidateQueries({ queryKey: ['users'] });
      const temp = (res as UserWithTemporaryPassword | undefined)?.temporary_password;
      if (p.kind === 'reset' && temp) setReset({ username: p.user.username, password: temp });
      else toast.push({ tone: 'success', title: doneMessage(p) });
    },
  });
  function ask(p: Pending) {
    act.reset();
    setPending(p);
  }
  const items = users.data?.items ?? [];
  const filtered = Boolean(query.search || query.role || query.active);
  const d = pending && describe(pending);

  return (
    <div>
      <PageHeader title="Users">
        <Button tone="primary" onClick={() => setCreateOpen(true)}>
          <Plus aria-hidden className="size-4" /> Create a user
        </Button>
      </PageHeader>
      <Card className="mb-3 grid grid-cols-1 gap-3 p-3 sm:grid-cols-3">
        <Field label="Search" htmlFor="users-search">
          <input
            id="users-search"
            type="search"
            placeholder="Username or e-mail"
            value={url.get('q')}
            onChange={(e) => url.set({ q: e.target.value })}
            className={inputClass}
          />
        </Field>
        <Field label="Role" htmlFor="users-role">
          <select
            id="users-role"
            className={selectClass}
            value={url.get('role')}
            onChange={(e) => url.set({ role: e.target.value })}
          >
            <option value="">Any</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <Field label="State" htmlFor="users-active">
          <select
            id="users-active"
            className={selectClass}
            value={url.get('active')}
            onChange={(e) => url.set({ active: e.target.value })}
          >
            <option value="">Any</option>
            <option value="true">Enabled</option>
            <option value="false">Disabled</option>
          </select>
        </Field>
      </Card>
      <Card>
        {users.isPending ? (
          <Loading label="Loading users…" />
        ) : users.isError ? (
          <ErrorState error={users.error} retry={() => void users.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title={filtered ? 'No user matches these filters' : 'No users'}>
            {filtered ? 'Change or clear the filters.' : 'Create a user to give someone access.'}
          </EmptyState>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full">
                <thead className="border-b border-slate-200 dark:border-slate-800">
                  <tr>
                    <th className={th}>User</th>
                    <th className={th}>Role</th>
                    <th className={th}>State</th>
                    <th className={th}>Created</th>
                    <th className={th}>
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {items.map((user) => {
                    const self = user.id === me.user.id;
                    return (
                      <tr key={user.id} data-testid={`user-row-${user.username}`}>
                        <td className={td}>
                          <div className="font-medium">
                            {user.username}
                            {self && (
                              <span className="ml-1 text-xs text-slate-600 dark:text-slate-400">(you)</span>
                            )}
                          </div>
                          <div className="text-xs text-slate-600 dark:text-slate-400">{user.email}</div>
                        </td>
                        <td className={td}>
                          <label className="sr-only" htmlFor={`role-${user.id}`}>
                            Role of {user.username}
                          </label>
                          <select
                            id={`role-${user.id}`}
                            className={selectClass}
                            value={user.role}
                            disabled={self}
                            onChange={(e) => ask({ kind: 'role', user, role: e.target.value as Role })}
                          >
                            {ROLES.map((r) => (
                              <option key={r} value={r}>
                                {r}
                              </option>
                            ))}
                          </select>
                        </td>
                        <td className={td}>
                          {user.is_active ? 'Enabled' : 'Disabled'}
                          {user.must_change_password && (
                            <div className="text-xs text-slate-600 dark:text-slate-400">
                              must change password
                            </div>
                          )}
                        </td>
                        <td className={td}>
                          <Time value={user.created_at} />
                        </td>
                        <td className={`${td} text-right whitespace-nowrap`}>
                          {!self && (
                            <span className="inline-flex flex-wrap justify-end gap-2">
                              <Button
                                size="sm"
                                onClick={() => ask({ kind: 'active', user, active: !user.is_active })}
                              >
                                {user.is_active ? 'Disable' : 'Enable'}
                              </Button>
                              <Button size="sm" onClick={() => ask({ kind: 'reset', user })}>
                                Reset password
                              </Button>
                              <Button size="sm" onClick={() => ask({ kind: 'delete', user })}>
                                Delete
                              </Button>
                            </span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <Pager
              total={users.data.total}
              limit={LIMIT}
              offset={query.offset}
              onOffset={(o) => url.set({ offset: o ? String(o) : undefined })}
            />
          </>
        )}
      </Card>
      <CreateUserDialog open={createOpen} onOpenChange={setCreateOpen} />
      <ConfirmDialog
        open={pending !== undefined}
        onOpenChange={(o) => !o && setPending(undefined)}
        title={d?.title ?? ''}
        description={d?.text}
        confirmLabel={d?.label ?? ''}
        tone={d?.tone}
        busy={act.isPending}
        error={act.error}
        onConfirm={() => pending && act.mutate(pending)}
      />
      <Dialog
        open={reset !== undefined}
        onOpenChange={(o) => !o && setReset(undefined)}
        title={`New password for ${reset?.username ?? ''}`}
      >
        {reset && <TemporaryPassword username={reset.username} password={reset.password} />}
        <div className="mt-4 flex justify-end">
          <Button tone="primary" onClick={() => setReset(undefined)}>
            Done
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
