import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, RotateCcw, Trash2 } from 'lucide-react';
import { useId, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, errorMessage } from '../../api/client';
import type { AlertRule, AlertRuleList } from '../../api/types';
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
import { formatNumber } from '../../lib/format';
import { AlertsNav } from './alerts-nav';
import { RuleForm } from './rule-form';

const RULES_KEY = ['alerts', 'rules'] as const;

function level(v: number | null): string {
  return v === null ? '—' : formatNumber(v, 2);
}

function scope(r: AlertRule): string {
  const tags = Object.entries(r.tag_filter)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${r.measurement}.${r.field}${tags ? ` [${tags}]` : ''}`;
}

function RuleRow({
  rule,
  canEdit,
  onEdit,
  onDelete,
}: {
  rule: AlertRule;
  canEdit: boolean;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const client = useQueryClient();
  const toggle = useMutation({
    mutationFn: () =>
      api<AlertRule>(`/alert-rules/${rule.id}`, { method: 'PATCH', body: { enabled: !rule.enabled } }),
    onSuccess: () => void client.invalidateQueries({ queryKey: RULES_KEY }),
  });
  return (
    <li
      data-testid={`rule-${rule.id}`}
      className={cx('flex flex-col gap-2 p-3 sm:flex-row sm:items-center', rule.overridden && 'opacity-70')}
    >
      <div className="min-w-0 flex-1">
        <p className="font-medium break-words">
          {rule.name}
          {rule.robot_id ? (
            <span className="ml-2 rounded-full bg-teal-50 px-2 py-0.5 text-xs text-teal-900 dark:bg-teal-900/40 dark:text-teal-100">
              Robot {rule.robot_id}
            </span>
          ) : (
            <span className="ml-2 rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-800 dark:bg-slate-800 dark:text-slate-200">
              Every robot
            </span>
          )}
          {rule.overridden && <span className="ml-2 text-xs">(overridden by this robot’s own rule)</span>}
          {!rule.enabled && (
            <span className="ml-2 text-xs text-slate-600 dark:text-slate-400">(disabled)</span>
          )}
        </p>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          <code>{scope(rule)}</code> {rule.direction} · warning {level(rule.warning_level)} · critical{' '}
          {level(rule.critical_level)} · clears at{' '}
          {level(rule.clear_level ?? rule.warning_level ?? rule.critical_level)}
          {rule.sustained_s > 0 && ` · sustained ${rule.sustained_s} s`}
        </p>
        {toggle.error && (
          <p className="text-sm text-red-700 dark:text-red-400">{errorMessage(toggle.error)}</p>
        )}
      </div>
      {canEdit && (
        <div className="flex shrink-0 flex-wrap gap-1.5">
          <label className="flex items-center gap-1.5 text-sm">
            <input
              type="checkbox"
              checked={rule.enabled}
              disabled={toggle.isPending}
              onChange={() => toggle.mutate()}
            />
            Enabled
          </label>
          <Button size="sm" onClick={onEdit} aria-label={`Edit rule ${rule.name}`}>
            <Pencil aria-hidden className="size-4" /> Edit
          </Button>
          {!rule.is_default && (
            <Button size="sm" tone="ghost" onClick={onDelete} aria-label={`Delete rule ${rule.name}`}>
              <Trash2 aria-hidden className="size-4" /> Delete
            </Button>
          )}
        </div>
      )}
    </li>
  );
}

export default function RulesPage() {
  const [params, setParams] = useSearchParams();
  const robot = params.get('robot') ?? '';
  const [robotText, setRobotText] = useState(robot);
  const ids = useId();
  const client = useQueryClient();
  const toast = useToast();
  const canEdit = useCan('alerts:configure');
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);
  const [resetting, setResetting] = useState(false);
  const list = useQuery({
    queryKey: [...RULES_KEY, robot],
    queryFn: ({ signal }) =>
      api<AlertRuleList>('/alert-rules', { query: { robot_id: robot || undefined }, signal }),
  });
  const remove = useMutation({
    mutationFn: (r: AlertRule) => api(`/alert-rules/${r.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: RULES_KEY });
      toast.push({ tone: 'success', title: 'Rule deleted' });
      setDeleting(null);
    },
  });
  const reset = useMutation({
    mutationFn: () => api('/alert-rules/reset-defaults', { method: 'POST', body: {} }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: RULES_KEY });
      toast.push({ tone: 'success', title: 'Default rules restored' });
      setResetting(false);
    },
  });
  const items = list.data?.items ?? [];
  const globals = items.filter((r) => r.robot_id === null);
  const own = items.filter((r) => r.robot_id !== null);
  const section = (title: string, rules: AlertRule[], empty: string) => (
    <section className="mb-5" aria-label={title}>
      <h2 className="mb-2 text-lg font-semibold">{title}</h2>
      <Card>
        {rules.length === 0 ? (
          <EmptyState title={empty} />
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {rules.map((r) => (
              <RuleRow
                key={r.id}
                rule={r}
                canEdit={canEdit}
                onEdit={() => setEditing(r)}
                onDelete={() => setDeleting(r)}
              />
            ))}
          </ul>
        )}
      </Card>
    </section>
  );
  return (
    <div>
      <PageHeader title="Alerts">
        {canEdit && (
          <>
            <Button onClick={() => setResetting(true)}>
              <RotateCcw aria-hidden className="size-4" /> Reset defaults
            </Button>
            <Button tone="primary" onClick={() => setEditing('new')}>
              <Plus aria-hidden className="size-4" /> New rule
            </Button>
          </>
        )}
      </PageHeader>
      <AlertsNav />
      <form
        className="mb-4 flex max-w-md items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          setParams(robotText.trim() ? { robot: robotText.trim() } : {}, { replace: true });
        }}
      >
        <div className="flex flex-1 flex-col gap-1">
          <label htmlFor={`${ids}-robot`} className="text-sm font-medium">
            Rules as one robot sees them (robot id)
          </label>
          <input
            id={`${ids}-robot`}
            className={inputClass}
            value={robotText}
            onChange={(e) => setRobotText(e.target.value)}
            placeholder="Empty: every rule"
          />
        </div>
        <Button type="submit">Show</Button>
      </form>
      {list.isPending ? (
        <Loading label="Loading rules…" />
      ) : list.isError ? (
        <ErrorState
          error={list.error}
          retry={() => void list.refetch()}
          title="The rules could not be loaded"
        />
      ) : (
        <>
          {section('Global rules', globals, 'No global rules: “Reset defaults” restores the built-in ones')}
          {section(
            robot ? `Robot ${robot}’s own rules` : 'Robot overrides',
            own,
            'No robot has its own rule: a robot override replaces a global rule of the same field for one robot',
          )}
        </>
      )}
      <Dialog
        open={editing !== null}
        onOpenChange={(o) => !o && setEditing(null)}
        title={editing === 'new' ? 'New alert rule' : 'Edit alert rule'}
        wide
      >
        {editing !== null && (
          <RuleForm
            rule={editing === 'new' ? undefined : editing}
            robotId={editing === 'new' && robot ? robot : undefined}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              void client.invalidateQueries({ queryKey: RULES_KEY });
              toast.push({ tone: 'success', title: editing === 'new' ? 'Rule created' : 'Rule saved' });
              setEditing(null);
            }}
          />
        )}
      </Dialog>
      <Dialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title="Delete this rule?"
        description={deleting ? `${deleting.name} (${scope(deleting)}) stops raising alerts.` : ''}
      >
        {remove.error && (
          <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-400">
            {errorMessage(remove.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setDeleting(null)}>Cancel</Button>
          <Button tone="danger" busy={remove.isPending} onClick={() => deleting && remove.mutate(deleting)}>
            Delete rule
          </Button>
        </div>
      </Dialog>
      <Dialog
        open={resetting}
        onOpenChange={setResetting}
        title="Restore the default rules?"
        description="The built-in fleet rules get their default levels back and are enabled. Your own rules and robot overrides stay."
      >
        {reset.error && (
          <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-400">
            {errorMessage(reset.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setResetting(false)}>Cancel</Button>
          <Button tone="primary" busy={reset.isPending} onClick={() => reset.mutate()}>
            Reset defaults
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
