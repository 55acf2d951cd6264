import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useId } from 'react';
import { api } from '../../api/client';
import type { ReportKind, ReportSectionKey, RobotList } from '../../api/types';
import { inputClass } from '../../components/ui';
import { KIND_LABELS, SECTION_LABELS } from './report-labels';

export type ReportScope = 'fleet' | 'robot' | 'tag';

export interface ReportWhat {
  kind: ReportKind;
  scope: ReportScope;
  robotId: string;
  tag: string;
  sections: ReportSectionKey[];
}

export const fieldLabel = 'mb-1 block text-sm font-medium';

/**
 * What a report is about, as the new-report and schedule forms ask it: the kind, the scope (the fleet, one robot
 * from the list, or a tag), and the sections of a custom report. `error(field)` shows what the server refused.
 */
export function ReportWhatFields({
  value,
  onChange,
  error,
}: {
  value: ReportWhat;
  onChange: (next: ReportWhat) => void;
  error: (field: string) => ReactNode;
}) {
  const ids = { kind: useId(), scope: useId(), robot: useId(), tag: useId() };
  const set = (patch: Partial<ReportWhat>) => onChange({ ...value, ...patch });
  const robots = useQuery({
    queryKey: ['robots', 'for-reports'],
    queryFn: ({ signal }) => api<RobotList>('/robots', { query: { limit: 500, sort: 'robot_id' }, signal }),
    enabled: value.scope === 'robot',
  });
  return (
    <>
      <div>
        <label htmlFor={ids.kind} className={fieldLabel}>
          Kind
        </label>
        <select
          id={ids.kind}
          className={inputClass}
          value={value.kind}
          onChange={(e) => set({ kind: e.target.value as ReportKind })}
        >
          {Object.entries(KIND_LABELS).map(([v, text]) => (
            <option key={v} value={v}>
              {text}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={ids.scope} className={fieldLabel}>
          Scope
        </label>
        <select
          id={ids.scope}
          className={inputClass}
          value={value.scope}
          onChange={(e) => set({ scope: e.target.value as ReportScope })}
        >
          <option value="fleet">The whole fleet</option>
          <option value="robot">One robot</option>
          <option value="tag">Robots with a tag</option>
        </select>
      </div>
      {value.scope === 'robot' && (
        <div>
          <label htmlFor={ids.robot} className={fieldLabel}>
            Robot
          </label>
          <select
            id={ids.robot}
            className={inputClass}
            value={value.robotId}
            required
            onChange={(e) => set({ robotId: e.target.value })}
          >
            <option value="">{robots.isPending ? 'Loading robots…' : 'Choose a robot'}</option>
            {value.robotId && !robots.data?.items.some((r) => r.robot_id === value.robotId) && (
              <option value={value.robotId}>{value.robotId}</option>
            )}
            {robots.data?.items.map((r) => (
              <option key={r.robot_id} value={r.robot_id}>
                {r.name ? `${r.name} (${r.robot_id})` : r.robot_id}
              </option>
            ))}
          </select>
          {error('robot_id')}
        </div>
      )}
      {value.scope === 'tag' && (
        <div>
          <label htmlFor={ids.tag} className={fieldLabel}>
            Tag
          </label>
          <input
            id={ids.tag}
            className={inputClass}
            value={value.tag}
            required
            maxLength={50}
            onChange={(e) => set({ tag: e.target.value })}
          />
          {error('tag')}
        </div>
      )}
      {value.kind === 'custom' && (
        <fieldset className="sm:col-span-2">
          <legend className={fieldLabel}>Sections</legend>
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {(Object.keys(SECTION_LABELS) as ReportSectionKey[]).map((key) => (
              <label key={key} className="inline-flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  className="size-4"
                  checked={value.sections.includes(key)}
                  onChange={(e) =>
                    set({
                      sections: e.target.checked
                        ? [...value.sections, key]
                        : value.sections.filter((x) => x !== key),
                    })
                  }
                />
                {SECTION_LABELS[key]}
              </label>
            ))}
          </div>
          {error('sections')}
        </fieldset>
      )}
    </>
  );
}
