import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { AlertTriangle, Plus } from 'lucide-react';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import type { Robot, RobotList } from '../../api/types';
import { useCan } from '../../auth/auth';
import { useToast } from '../../components/toasts';
import {
  Button,
  Card,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  StatusBadge,
  Time,
} from '../../components/ui';
import { ConfirmDialog, Field, Pager, selectClass, td, th, useUrlState } from '../admin/admin-ui';
import { RegisterRobotDialog } from './register-robot';

const LIMIT = 25;
const STATUSES = ['online', 'offline', 'error', 'maintenance', 'emergency_stopped'] as const;
const SORTS = [
  ['robot_id', 'Robot id'],
  ['name', 'Name'],
  ['last_seen', 'Last seen'],
  ['status', 'Status'],
] as const;

function RobotFlags({ robot }: { robot: Robot }) {
  return (
    <span className="flex flex-wrap gap-1">
      {robot.deleted_at && (
        <span className="rounded-full bg-slate-200 px-2 py-0.5 text-xs dark:bg-slate-700">Deleted</span>
      )}
      {robot.registration === 'pending' && (
        <span className="rounded-full bg-sky-100 px-2 py-0.5 text-xs text-sky-900 dark:bg-sky-900/50 dark:text-sky-100">
          Pending
        </span>
      )}
      {robot.anonymous && (
        <span
          title="No credentials: it connects anonymously (ALLOW_ANONYMOUS_ROBOTS), its client id its identity. Claim it to give it credentials."
          className="inline-flex items-center gap-1 rounded-full bg-amber-100 px-2 py-0.5 text-xs text-amber-900 dark:bg-amber-900/50 dark:text-amber-100"
        >
          <AlertTriangle aria-hidden className="size-3" />
          {robot.protocol === 'legacy' ? 'Legacy, anonymous' : 'Anonymous'}
        </span>
      )}
    </span>
  );
}

/** All robots with search, filters, sort and pages in the URL; register, claim, delete and restore. */
export default function RobotsPage() {
  const url = useUrlState();
  const canManage = useCan('robots:manage');
  const client = useQueryClient();
  const toast = useToast();
  const [registerOpen, setRegisterOpen] = useState(false);
  const [claimId, setClaimId] = useState<string>();
  const [confirm, setConfirm] = useState<{ robot: Robot; action: 'delete' | 'restore' }>();

  const query = {
    search: url.get('q') || undefined,
    status: url.get('status') || undefined,
    registration: url.get('registration') || undefined,
    tag: url.get('tag') || undefined,
    deleted: url.get('deleted') === 'true' ? 'true' : undefined,
    sort: url.get('sort') || 'robot_id',
    order: url.get('order') || 'asc',
    limit: LIMIT,
    offset: Number(url.get('offset')) || 0,
  };
  const robots = useQuery({
    queryKey: ['robots', 'admin-list', query],
    queryFn: ({ signal }) => api<RobotList>('/robots', { query, signal }),
    placeholderData: keepPreviousData,
  });

  const change = useMutation({
    mutationFn: ({ robot, action }: { robot: Robot; action: 'delete' | 'restore' }) =>
      action === 'delete'
        ? api<Robot>(`/robots/${encodeURIComponent(robot.robot_id)}`, { method: 'DELETE' })
        : api<Robot>(`/robots/${encodeURIComponent(robot.robot_id)}/restore`, { method: 'POST' }),
    onSuccess: (robot, { action }) => {
      toast.push({
        tone: 'success',
        title: action === 'delete' ? `Deleted ${robot.robot_id}` : `Restored ${robot.robot_id}`,
      });
      setConfirm(undefined);
      void client.invalidateQueries({ queryKey: ['robots'] });
    },
  });

  const items = robots.data?.items ?? [];
  const anonymous = items.filter((r) => r.anonymous && !r.deleted_at).length;
  const filtered = Boolean(query.search || query.status || query.registration || query.tag || query.deleted);

  return (
    <div>
      <PageHeader title="Robots">
        {canManage && (
          <Button tone="primary" onClick={() => setRegisterOpen(true)}>
            <Plus aria-hidden className="size-4" /> Register a robot
          </Button>
        )}
      </PageHeader>

      <Card className="mb-3 p-3">
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-6">
          <div className="lg:col-span-2">
            <Field label="Search" htmlFor="robots-search">
              <input
                id="robots-search"
                type="search"
                placeholder="Robot id or name"
                value={url.get('q')}
                onChange={(e) => url.set({ q: e.target.value })}
                className={inputClass}
              />
            </Field>
          </div>
          <Field label="Status" htmlFor="robots-status">
            <select
              id="robots-status"
              className={selectClass}
              value={url.get('status')}
              onChange={(e) => url.set({ status: e.target.value })}
            >
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s.replace('_', ' ')}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Registration" htmlFor="robots-registration">
            <select
              id="robots-registration"
              className={selectClass}
              value={url.get('registration')}
              onChange={(e) => url.set({ registration: e.target.value })}
            >
              <option value="">Any</option>
              <option value="pending">Pending (registered itself)</option>
              <option value="active">Active</option>
            </select>
          </Field>
          <Field label="Tag" htmlFor="robots-tag">
            <input
              id="robots-tag"
              value={url.get('tag')}
              onChange={(e) => url.set({ tag: e.target.value })}
              className={inputClass}
            />
          </Field>
          <Field label="Sort" htmlFor="robots-sort">
            <select
              id="robots-sort"
              className={selectClass}
              value={`${query.sort}:${query.order}`}
              onChange={(e) => {
                const [sort, order] = e.target.value.split(':');
                url.set({ sort, order });
              }}
            >
              {SORTS.flatMap(([value, label]) => [
                <option key={`${value}:asc`} value={`${value}:asc`}>
                  {label} ↑
                </option>,
                <option key={`${value}:desc`} value={`${value}:desc`}>
                  {label} ↓
                </option>,
              ])}
            </select>
          </Field>
        </div>
        <label className="mt-3 flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            checked={query.deleted === 'true'}
            onChange={(e) => url.set({ deleted: e.target.checked ? 'true' : undefined })}
          />
          Show deleted robots only
        </label>
      </Card>

      {anonymous > 0 && (
        <p
          role="note"
          data-testid="anonymous-warning"
          className="mb-3 flex items-start gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950/50 dark:text-amber-100"
        >
          <AlertTriangle aria-hidden className="mt-0.5 size-4 shrink-0" />
          <span>
            {anonymous} robot{anonymous === 1 ? '' : 's'} on this page connect{anonymous === 1 ? 's' : ''}{' '}
            without credentials (anonymous or the original client): anyone who knows the id can speak for it.
            {canManage ? ' Claim them to give them credentials, ' : ' An admin can claim them, '}then set
            ALLOW_ANONYMOUS_ROBOTS=false.
          </span>
        </p>
      )}

      <Card>
        {robots.isPending ? (
          <Loading label="Loading robots…" />
        ) : robots.isError ? (
          <ErrorState error={robots.error} retry={() => void robots.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title={filtered ? 'No robot matches these filters' : 'No robots yet'}>
            {filtered
              ? 'Change or clear the filters.'
              : canManage
                ? 'Register a robot, or start one: with AUTO_REGISTER_ROBOTS it appears on first contact.'
                : 'A robot appears here once an admin registers it or it connects.'}
          </EmptyState>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full">
                <thead className="border-b border-slate-200 dark:border-slate-800">
                  <tr>
                    <th className={th}>Robot</th>
                    <th className={th}>Status</th>
                    <th className={th}>Registration</th>
                    <th className={th}>Tags</th>
                    <th className={th}>Last seen</th>
                    {canManage && (
                      <th className={th}>
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {items.map((robot) => (
                    <tr key={robot.robot_id} data-testid={`robot-row-${robot.robot_id}`}>
                      <td className={td}>
                        <Link
                          to={`/robots/${encodeURIComponent(robot.robot_id)}`}
                          className="font-medium text-teal-800 underline-offset-2 hover:underline dark:text-teal-300"
                        >
                          {robot.name ?? robot.robot_id}
                        </Link>
                        {robot.name && (
                          <div className="text-xs text-slate-600 dark:text-slate-400">{robot.robot_id}</div>
                        )}
                      </td>
                      <td className={td}>
                        <StatusBadge status={robot.status} />
                      </td>
                      <td className={td}>
                        <RobotFlags robot={robot} />
                        {!robot.anonymous && robot.registration === 'active' && !robot.deleted_at && (
                          <span className="text-xs">Active</span>
                        )}
                      </td>
                      <td className={td}>{robot.tags.join(', ') || '—'}</td>
                      <td className={td}>{robot.last_seen ? <Time value={robot.last_seen} /> : 'never'}</td>
                      {canManage && (
                        <td className={`${td} text-right whitespace-nowrap`}>
                          {!robot.deleted_at && !robot.has_credentials && (
                            <Button size="sm" className="mr-2" onClick={() => setClaimId(robot.robot_id)}>
                              Claim
                            </Button>
                          )}
                          {robot.deleted_at ? (
                            <Button size="sm" onClick={() => setConfirm({ robot, action: 'restore' })}>
                              Restore
                            </Button>
                          ) : (
                            <Button size="sm" onClick={() => setConfirm({ robot, action: 'delete' })}>
                              Delete
                            </Button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              total={robots.data.total}
              limit={LIMIT}
              offset={query.offset}
              onOffset={(offset) => url.set({ offset: offset ? String(offset) : undefined })}
            />
          </>
        )}
      </Card>

      {canManage && (
        <>
          <RegisterRobotDialog open={registerOpen} onOpenChange={setRegisterOpen} />
          <RegisterRobotDialog
            key={claimId ?? 'none'}
            open={claimId !== undefined}
            onOpenChange={(o) => !o && setClaimId(undefined)}
            claimId={claimId}
          />
          <ConfirmDialog
            open={confirm !== undefined}
            onOpenChange={(o) => {
              if (!o) {
                setConfirm(undefined);
                change.reset();
              }
            }}
            title={
              confirm?.action === 'restore'
                ? `Restore ${confirm.robot.robot_id}?`
                : `Delete ${confirm?.robot.robot_id ?? ''}?`
            }
            description={
              confirm?.action === 'restore'
                ? 'Its credentials (if it has any) work again and it may connect.'
                : 'Its MQTT session is closed and its connections and messages are refused. Its history is kept; you can restore it.'
            }
            confirmLabel={confirm?.action === 'restore' ? 'Restore' : 'Delete'}
            tone={confirm?.action === 'restore' ? 'primary' : 'danger'}
            busy={change.isPending}
            error={change.error}
            onConfirm={() => confirm && change.mutate(confirm)}
          />
        </>
      )}
    </div>
  );
}
