import { useMutation } from '@tanstack/react-query';
import { MEASUREMENTS, type MeasurementName } from '@tonypi/contracts/measurements';
import { useId, useState } from 'react';
import { api, errorMessage, fieldErrors } from '../../api/client';
import type { AlertRule, CreateAlertRuleRequest } from '../../api/types';
import { Button, inputClass } from '../../components/ui';

const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as MeasurementName[];

function num(text: string): number | null {
  const t = text.trim();
  return t === '' ? null : Number(t);
}
const str = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));

/**
 * Create or change an alert rule: any numeric field of a measurement (optionally one series, like one servo),
 * above or below a warning and/or critical level, with a clear level and a sustained-for time. The API checks
 * it; its messages are shown next to the field they are about.
 */
export function RuleForm({
  rule,
  robotId,
  onSaved,
  onCancel,
}: {
  rule?: AlertRule;
  /** A new rule's robot (an override); absent: a global rule unless the form's robot field says otherwise. */
  robotId?: string;
  onSaved: (rule: AlertRule) => void;
  onCancel: () => void;
}) {
  const ids = useId();
  const firstTag = Object.entries(rule?.tag_filter ?? {})[0];
  const [v, setV] = useState({
    name: rule?.name ?? '',
    robot_id: rule?.robot_id ?? robotId ?? '',
    measurement: (rule?.measurement ?? 'system') as string,
    field: rule?.field ?? '',
    tag_name: firstTag?.[0] ?? '',
    tag_value: firstTag?.[1] ?? '',
    direction: rule?.direction ?? 'above',
    warning_level: str(rule?.warning_level),
    critical_level: str(rule?.critical_level),
    clear_level: str(rule?.clear_level),
    sustained_s: str(rule?.sustained_s ?? 0),
    enabled: rule?.enabled ?? true,
  });
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) =>
    setV((s) => ({ ...s, [k]: e.target.value }));
  const save = useMutation({
    mutationFn: (body: CreateAlertRuleRequest) =>
      rule
        ? api<AlertRule>(`/alert-rules/${rule.id}`, { method: 'PATCH', body })
        : api<AlertRule>('/alert-rules', { method: 'POST', body }),
    onSuccess: (saved) => onSaved(saved),
  });
  const apiErrors = fieldErrors(save.error);
  const errors = { ...apiErrors, ...localErrors };
  const known = (MEASUREMENTS as Record<string, { tags: readonly string[]; fields: readonly string[] }>)[
    v.measurement
  ];
  const shownKeys = [
    'name',
    'robot_id',
    'measurement',
    'field',
    'tag_filter',
    'direction',
    'warning_level',
    'critical_level',
    'clear_level',
    'sustained_s',
  ];
  const otherErrors = Object.entries(apiErrors).filter(
    ([k]) => !shownKeys.some((s) => k === s || k.startsWith(`${s}.`)),
  );

  const submit = () => {
    const local: Record<string, string> = {};
    const levels = {
      warning_level: num(v.warning_level),
      critical_level: num(v.critical_level),
      clear_level: num(v.clear_level),
      sustained_s: num(v.sustained_s),
    };
    for (const [k, n] of Object.entries(levels))
      if (n !== null && !Number.isFinite(n)) local[k] = 'must be a number';
    if (!v.field.trim()) local.field = 'name the field to watch';
    if (levels.warning_level === null && levels.critical_level === null)
      local.warning_level = 'give a warning level, a critical level, or both';
    if (v.tag_name.trim() && !v.tag_value.trim())
      local.tag_filter = 'give the tag’s value, or clear its name';
    setLocalErrors(local);
    if (Object.keys(local).length > 0) return;
    const body: CreateAlertRuleRequest = {
      measurement: v.measurement as MeasurementName,
      field: v.field.trim(),
      direction: v.direction,
      warning_level: levels.warning_level,
      critical_level: levels.critical_level,
      clear_level: levels.clear_level,
      sustained_s: levels.sustained_s ?? 0,
      enabled: v.enabled,
      tag_filter: v.tag_name.trim() ? { [v.tag_name.trim()]: v.tag_value.trim() } : {},
      robot_id: v.robot_id.trim() || null,
    };
    if (v.name.trim()) body.name = v.name.trim();
    if (rule) {
      // A change names only the scope parts that change (a default rule keeps its scope).
      const patch: Partial<CreateAlertRuleRequest> = { ...body };
      if (patch.measurement === rule.measurement) delete patch.measurement;
      if (patch.field === rule.field) delete patch.field;
      if (JSON.stringify(patch.tag_filter) === JSON.stringify(rule.tag_filter)) delete patch.tag_filter;
      if ((patch.robot_id ?? null) === rule.robot_id) delete patch.robot_id;
      save.mutate(patch as CreateAlertRuleRequest);
    } else save.mutate(body);
  };

  const field = (key: string, title: string, input: React.ReactNode, hint?: React.ReactNode) => (
    <div className="flex flex-col gap-1">
      <label htmlFor={`${ids}-${key}`} className="text-sm font-medium">
        {title}
      </label>
      {input}
      {hint && (
        <p id={`${ids}-${key}-hint`} className="text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      )}
      {errors[key] && (
        <p id={`${ids}-${key}-error`} className="text-sm text-red-700 dark:text-red-400">
          {errors[key]}
        </p>
      )}
    </div>
  );
  const describedBy = (key: string, hint = false) =>
    [hint ? `${ids}-${key}-hint` : '', errors[key] ? `${ids}-${key}-error` : ''].filter(Boolean).join(' ') ||
    undefined;
  const input = (
    key: keyof typeof v,
    props: React.InputHTMLAttributes<HTMLInputElement> = {},
    hint = false,
  ) => (
    <input
      id={`${ids}-${key}`}
      className={inputClass}
      value={String(v[key])}
      onChange={set(key)}
      aria-invalid={errors[key] ? true : undefined}
      aria-describedby={describedBy(key, hint)}
      {...props}
    />
  );
  const tagError =
    errors.tag_filter ?? Object.entries(errors).find(([k]) => k.startsWith('tag_filter.'))?.[1];

  return (
    <form
      noValidate
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="grid gap-3 sm:grid-cols-2">
        {field(
          'measurement',
          'Measurement',
          <select
            id={`${ids}-measurement`}
            className={inputClass}
            value={v.measurement}
            onChange={set('measurement')}
          >
            {MEASUREMENT_NAMES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>,
        )}
        {field(
          'field',
          'Field',
          <>
            {input(
              'field',
              { list: `${ids}-fields`, placeholder: 'e.g. cpu_percent', autoComplete: 'off' },
              true,
            )}
            <datalist id={`${ids}-fields`}>
              {known?.fields.map((f) => (
                <option key={f} value={f} />
              ))}
            </datalist>
          </>,
          'Any numeric field the robots send, known or not.',
        )}
        {field(
          'tag_name',
          'Only the series with tag (optional)',
          input('tag_name', {
            list: `${ids}-tags`,
            placeholder: known?.tags[0] ?? 'e.g. servo_id',
            autoComplete: 'off',
          }),
        )}
        <datalist id={`${ids}-tags`}>
          {known?.tags.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        {field('tag_value', 'Tag value', input('tag_value', { placeholder: 'e.g. 3' }))}
      </div>
      {tagError && <p className="text-sm text-red-700 dark:text-red-400">Tag filter: {tagError}</p>}
      <div className="grid gap-3 sm:grid-cols-2">
        {field(
          'direction',
          'Alert when the value is',
          <select
            id={`${ids}-direction`}
            className={inputClass}
            value={v.direction}
            onChange={set('direction')}
          >
            <option value="above">Above the level</option>
            <option value="below">Below the level</option>
          </select>,
        )}
        {field('warning_level', 'Warning level', input('warning_level', { inputMode: 'decimal' }))}
        {field('critical_level', 'Critical level', input('critical_level', { inputMode: 'decimal' }))}
        {field(
          'clear_level',
          'Clear level (optional)',
          input('clear_level', { inputMode: 'decimal' }, true),
          'Hysteresis: once raised, the alert clears only when the value is back past this level (below it for “above”, above it for “below”), so a value hovering at the level does not raise and clear again and again. Empty: the warning level.',
        )}
        {field(
          'sustained_s',
          'Sustained for (seconds)',
          input('sustained_s', { inputMode: 'numeric' }, true),
          'The value must stay past the level this long before the alert is raised: a short spike is ignored. 0 raises at once.',
        )}
        {field(
          'robot_id',
          'Robot (empty: every robot)',
          input(
            'robot_id',
            { placeholder: 'e.g. tonypi-01', disabled: Boolean(rule) || Boolean(robotId) },
            true,
          ),
          'A robot’s own rule overrides the global rule of the same measurement, field and tag filter for that robot.',
        )}
        {field('name', 'Name (optional)', input('name', { placeholder: 'e.g. CPU busy', maxLength: 100 }))}
        <label className="flex items-center gap-2 self-end pb-2 text-sm">
          <input
            type="checkbox"
            checked={v.enabled}
            onChange={(e) => setV((s) => ({ ...s, enabled: e.target.checked }))}
          />
          Enabled
        </label>
      </div>
      {(otherErrors.length > 0 || (save.error && Object.keys(apiErrors).length === 0)) && (
        <div role="alert" className="text-sm text-red-700 dark:text-red-400">
          {otherErrors.length > 0
            ? otherErrors.map(([k, m]) => (
                <p key={k}>
                  {k}: {m}
                </p>
              ))
            : errorMessage(save.error)}
        </div>
      )}
      <div className="flex justify-end gap-2">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" tone="primary" busy={save.isPending}>
          {rule ? 'Save rule' : 'Create rule'}
        </Button>
      </div>
    </form>
  );
}
