import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import type { AuditEvent, AuditList } from '../api/types';
import { useCan } from '../auth/auth';
import {
  Button,
  Card,
  cx,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  Time,
} from '../components/ui';
import { Field, Pager, selectClass, td, th, useUrlState } from './admin/admin-ui';
import { NotAllowed } from './admin/not-allowed';

const LIMIT = 50;
const WINDOWS = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['', 'All time'],
] as const;

const OUTCOME_STYLE: Record<AuditEvent['outcome'], string> = {
  success: 'text-emerald-800 dark:text-emerald-300',
  failure: 'text-amber-800 dark:text-amber-300',
  denied: 'text-red-700 dark:text-red-400',
};

/** A text filter applied on Enter or when the field loses focus, not per keystroke. */
function FilterInput({
  id,
  label,
  value,
  placeholder,
  onApply,
}: {
  id: string;
  label: string;
  value: string;
  placeholder?: string;
  onApply: (v: string) => void;
}) {
  const [draft, setDraft] = useState(value);
  return (
    <Field label={label} htmlFor={id}>
      <input
        id={id}
        value={draft}
        placeholder={placeholder}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={() => draft.trim() !== value && onApply(draft.trim())}
        onKeyDown={(e) => e.key === 'Enter' && onApply(draft.trim())}
        className={inputClass}
      />
    </Field>
  );
}

/** The audit trail: who did what, when, from where; filters and page in the URL. */
export default function AuditPage() {
  if (!useCan('audit:read')) return <NotAllowed what="the audit trail" />;
  return <Audit />;
}

function Audit() {
  const url = useUrlState();
  const robot = url.get('robot');
  const query = {
    action: url.get('action') || undefined,
    actor: url.get('actor') || undefined,
    ...(robot ? { target_type: 'robot', target_id: robot } : {}),
    outcome: url.get('outcome') || undefined,
    from: url.get('window') || undefined,
    limit: LIMIT,
    offset: Number(url.get('offset')) || 0,
  };
  const audit = useQuery({
    queryKey: ['audit', query],
    queryFn: ({ signal }) => api<AuditList>('/audit', { query, signal }),
    placeholderData: keepPreviousData,
  });
  const items = audit.data?.items ?? [];
  const filtered = Boolean(query.action || query.actor || robot || query.outcome || query.from);
  return (
    <div>
      <PageHeader title="Audit trail">
        <Button onClick={() => void audit.refetch()} busy={audit.isFetching && !audit.isPending}>
          Refresh
        </Button>
      </PageHeader>
      <Card className="mb-3 grid grid-cols-1 gap-3 p-3 sm:grid-cols-2 lg:grid-cols-5">
        <FilterInput
          key={`a${query.action ?? ''}`}
          id="audit-action"
          label="Action"
          placeholder="user. or robot.delete"
          value={url.get('action')}
          onApply={(v) => url.set({ action: v })}
        />
        <FilterInput
          key={`u${query.actor ?? ''}`}
          id="audit-actor"
          label="Actor"
          placeholder="Name or id"
          value={url.get('actor')}
          onApply={(v) => url.set({ actor: v })}
        />
        <FilterInput
          key={`r${robot}`}
          id="audit-robot"
          label="Robot"
          placeholder="Robot id"
          value={robot}
          onApply={(v) => url.set({ robot: v })}
        />
        <Field label="Outcome" htmlFor="audit-outcome">
          <select
            id="audit-outcome"
            className={selectClass}
            value={url.get('outcome')}
            onChange={(e) => url.set({ outcome: e.target.value })}
          >
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="denied">Denied</option>
          </select>
        </Field>
        <Field label="Time" htmlFor="audit-window">
          <select
            id="audit-window"
            className={selectClass}
            value={url.get('window')}
            onChange={(e) => url.set({ window: e.target.value })}
          >
            {WINDOWS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      </Card>
      <Card>
        {audit.isPending ? (
          <Loading label="Loading the audit trail…" />
        ) : audit.isError ? (
          <ErrorState error={audit.error} retry={() => void audit.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title={filtered ? 'No event matches these filters' : 'Nothing audited yet'}>
            {filtered ? 'Change or clear the filters.' : 'Sign-ins, user, robot and key changes appear here.'}
          </EmptyState>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full">
                <thead className="border-b border-slate-200 dark:border-slate-800">
                  <tr>
                    <th className={th}>Time</th>
                    <th className={th}>Actor</th>
                    <th className={th}>Action</th>
                    <th className={th}>Target</th>
                    <th className={th}>Outcome</th>
                    <th className={th}>From</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {items.map((e) => (
                    <tr key={e.id} data-testid="audit-row">
                      <td className={`${td} whitespace-nowrap`}>
                        <Time value={e.ts} />
                      </td>
                      <td className={td}>
                        {e.actor.name ?? e.actor.id ?? '—'}
                        <div className="text-xs text-slate-600 dark:text-slate-400">
                          {e.actor.type.replace('_', ' ')}
                        </div>
                      </td>
                      <td className={`${td} font-mono text-xs`}>{e.action}</td>
                      <td className={td}>{e.target ? `${e.target.type} ${e.target.id ?? ''}` : '—'}</td>
                      <td className={cx(td, OUTCOME_STYLE[e.outcome])}>{e.outcome}</td>
                      <td className={`${td} text-xs`}>{e.address ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              total={audit.data.total}
              limit={LIMIT}
              offset={query.offset}
              onOffset={(o) => url.set({ offset: o ? String(o) : undefined })}
            />
          </>
        )}
      </Card>
    </div>
  );
}
