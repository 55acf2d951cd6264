import { useInfiniteQuery } from '@tanstack/react-query';
import {
  LOG_CATEGORIES,
  type LogCategory,
  logLevelRank,
  SYSTEM_LOG_LEVELS,
  type SystemLogLevel,
  toSystemLogLevel,
} from '@tonypi/contracts/log-levels';
import { Download, Radio } from 'lucide-react';
import { useEffect, useId, useState } from 'react';
import { useSearchParams } from 'react-router';
import { API_BASE, api, queryString } from '../api/client';
import type { LiveServerEvents, LogEntry, LogList } from '../api/types';
import { Button, Card, cx, EmptyState, ErrorState, inputClass, Loading, Time } from '../components/ui';
import { useLiveChannels, useLiveFrames } from '../live/live-context';

/** The time windows offered, as the API's durations back from now. */
export const LOG_WINDOWS = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
] as const;
const DEFAULT_WINDOW = '24h';

/** Most live lines kept on screen while following. */
export const LIVE_LINES_MAX = 500;

export interface LogFilters {
  level?: SystemLogLevel;
  category?: LogCategory;
  robot_id?: string;
  from: string;
  q?: string;
}

function oneOf<T extends string>(values: readonly T[], value: string | null): T | undefined {
  return values.includes(value as T) ? (value as T) : undefined;
}

/** The filters in the URL (`level`, `category`, `robot`, `window`, `q`); a fixed robot wins over `robot`. */
export function filtersFrom(params: URLSearchParams, fixedRobot?: string): LogFilters {
  return {
    level: oneOf(SYSTEM_LOG_LEVELS, params.get('level')),
    category: oneOf(LOG_CATEGORIES, params.get('category')),
    robot_id: fixedRobot ?? (params.get('robot')?.trim() || undefined),
    from:
      oneOf(
        LOG_WINDOWS.map((w) => w.value),
        params.get('window'),
      ) ?? DEFAULT_WINDOW,
    q: params.get('q')?.trim() || undefined,
  };
}

/** The API's query for these filters: the list, and the export with the same selection. */
export function apiQuery(f: LogFilters) {
  return { level: f.level, category: f.category, robot_id: f.robot_id, from: f.from, q: f.q };
}

export function exportHref(f: LogFilters, format: 'csv' | 'json'): string {
  return `${API_BASE}/logs/export${queryString({ format, ...apiQuery(f) })}`;
}

type LiveLog = { type: 'log' } & LiveServerEvents['log'];

/** Whether a live log line passes the filters the server applies to stored ones. */
export function liveMatches(f: LogFilters, line: LiveLog): boolean {
  if (f.category && f.category !== 'robot') return false;
  if (f.robot_id && line.robot_id !== f.robot_id) return false;
  if (f.level && logLevelRank(toSystemLogLevel(line.level)) < logLevelRank(f.level)) return false;
  if (f.q && !line.message.toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

interface Row {
  key: string;
  timestamp: string | number;
  level: SystemLogLevel;
  category: string;
  robot_id: string | null;
  source: string | null;
  message: string;
  live?: boolean;
}

const LEVEL_STYLE: Record<SystemLogLevel, string> = {
  DEBUG: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  INFO: 'bg-sky-100 text-sky-900 dark:bg-sky-900/50 dark:text-sky-100',
  WARNING: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100',
  ERROR: 'bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-100',
  CRITICAL: 'bg-red-700 text-white dark:bg-red-600',
};

function LevelBadge({ level }: { level: SystemLogLevel }) {
  return (
    <span className={cx('inline-flex rounded px-1.5 py-0.5 text-xs font-semibold', LEVEL_STYLE[level])}>
      {level}
    </span>
  );
}

function useLiveLog(filters: LogFilters, follow: boolean) {
  const [lines, setLines] = useState<Row[]>([]);
  const key = JSON.stringify(filters);
  // biome-ignore lint/correctness/useExhaustiveDependencies: new filters or a new follow start an empty tail.
  useEffect(() => setLines([]), [key, follow]);
  useLiveFrames('log', (frames) => {
    if (!follow) return;
    const fresh: Row[] = [];
    for (const f of frames) {
      if (!liveMatches(filters, f)) continue;
      fresh.push({
        key: `live-${f.robot_id}-${f.ts}-${fresh.length}-${Math.random()}`,
        timestamp: f.ts,
        level: toSystemLogLevel(f.level),
        category: 'robot',
        robot_id: f.robot_id,
        source: f.source ?? null,
        message: f.message,
        live: true,
      });
    }
    if (fresh.length === 0) return;
    fresh.reverse();
    setLines((prev) => [...fresh, ...prev].slice(0, LIVE_LINES_MAX));
  });
  return lines;
}

function FollowSubscription() {
  useLiveChannels('log');
  return null;
}

function toRow(e: LogEntry): Row {
  return {
    key: String(e.id),
    timestamp: e.timestamp,
    level: e.level,
    category: e.category,
    robot_id: e.robot_id,
    source: e.source,
    message: e.message,
  };
}

/**
 * The log, filtered by the URL: level or worse, category, robot, window and text; newest first, paged by
 * cursor; "Follow live" adds robots' log lines as they arrive; the export downloads what the filters select.
 * With `robotId` (the robot page's tab) the robot is fixed.
 */
export function LogView({ robotId }: { robotId?: string }) {
  const [params, setParams] = useSearchParams();
  const filters = filtersFrom(params, robotId);
  const follow = params.get('follow') === '1';
  const [search, setSearch] = useState(filters.q ?? '');
  const ids = useId();

  const list = useInfiniteQuery({
    queryKey: ['logs', apiQuery(filters)],
    queryFn: ({ pageParam, signal }) =>
      api<LogList>('/logs', { query: { ...apiQuery(filters), limit: 100, cursor: pageParam }, signal }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const liveLines = useLiveLog(filters, follow);

  const set = (key: string, value: string | undefined) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  // The text search goes to the URL (and the API) after a pause in typing.
  useEffect(() => {
    const t = setTimeout(() => {
      if ((search.trim() || undefined) !== filters.q) set('q', search.trim() || undefined);
    }, 300);
    return () => clearTimeout(t);
  });

  const stored = list.data?.pages.flatMap((p) => p.items.map(toRow)) ?? [];
  const rows = [...liveLines, ...stored];
  const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';

  return (
    <div>
      {follow && <FollowSubscription />}
      <Card className="mb-4 p-3">
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
          <div>
            <label htmlFor={`${ids}-level`} className={label}>
              Level or worse
            </label>
            <select
              id={`${ids}-level`}
              className={inputClass}
              value={filters.level ?? ''}
              onChange={(e) => set('level', e.target.value || undefined)}
            >
              <option value="">Any level</option>
              {SYSTEM_LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`${ids}-category`} className={label}>
              Category
            </label>
            <select
              id={`${ids}-category`}
              className={inputClass}
              value={filters.category ?? ''}
              onChange={(e) => set('category', e.target.value || undefined)}
            >
              <option value="">Any category</option>
              {LOG_CATEGORIES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </div>
          {!robotId && (
            <div>
              <label htmlFor={`${ids}-robot`} className={label}>
                Robot
              </label>
              <input
                id={`${ids}-robot`}
                className={inputClass}
                placeholder="Any robot"
                defaultValue={filters.robot_id ?? ''}
                onBlur={(e) => set('robot', e.target.value.trim() || undefined)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') set('robot', e.currentTarget.value.trim() || undefined);
                }}
              />
            </div>
          )}
          <div>
            <label htmlFor={`${ids}-window`} className={label}>
              Time
            </label>
            <select
              id={`${ids}-window`}
              className={inputClass}
              value={filters.from}
              onChange={(e) => set('window', e.target.value === DEFAULT_WINDOW ? undefined : e.target.value)}
            >
              {LOG_WINDOWS.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
          </div>
          <div className="col-span-2">
            <label htmlFor={`${ids}-q`} className={label}>
              Search messages
            </label>
            <input
              id={`${ids}-q`}
              type="search"
              className={inputClass}
              placeholder="Text in the message"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
        </div>
        <div className="mt-3 flex flex-wrap items-center gap-2">
          <Button
            size="sm"
            tone={follow ? 'primary' : 'secondary'}
            aria-pressed={follow}
            onClick={() => set('follow', follow ? undefined : '1')}
          >
            <Radio aria-hidden className="size-4" /> {follow ? 'Following live' : 'Follow live'}
          </Button>
          <span className="ml-auto flex flex-wrap gap-2">
            <a
              href={exportHref(filters, 'csv')}
              download
              className="inline-flex items-center gap-1.5 rounded-md border border-slate-300 px-2.5 py-1 text-sm font-medium hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
            >
              <Download aria-hidden className="size-4" /> Export CSV
            </a>
            <a
              href={exportHref(filters, 'json')}
              download
              className="inline-flex items-center gap-1.5 rounded-md border border-slate-300 px-2.5 py-1 text-sm font-medium hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
            >
              <Download aria-hidden className="size-4" /> Export JSON
            </a>
          </span>
        </div>
      </Card>

      {list.isPending ? (
        <Loading label="Loading the log…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No log entries match these filters">
          Widen the time window, lower the level or clear the search
          {follow ? '; new robot log lines appear here as they arrive.' : '.'}
        </EmptyState>
      ) : (
        <Card className="overflow-hidden">
          <ul
            aria-label="Log entries"
            data-testid="log-entries"
            className="divide-y divide-slate-200 dark:divide-slate-800"
          >
            {rows.map((r) => (
              <li
                key={r.key}
                data-testid={r.live ? 'log-live' : 'log-entry'}
                className="flex flex-col gap-1 px-3 py-2 text-sm sm:flex-row sm:items-start sm:gap-3"
              >
                <span className="flex shrink-0 flex-wrap items-center gap-2 text-xs text-slate-600 sm:w-72 dark:text-slate-400">
                  <Time value={r.timestamp} />
                  <LevelBadge level={r.level} />
                  <span>{r.category}</span>
                  {r.robot_id && !robotId && <span className="font-mono">{r.robot_id}</span>}
                  {r.live && <span className="text-teal-700 dark:text-teal-300">live</span>}
                </span>
                <span className="min-w-0 break-words">
                  {r.source && (
                    <span className="mr-2 font-mono text-xs text-slate-600 dark:text-slate-400">
                      {r.source}
                    </span>
                  )}
                  {r.message}
                </span>
              </li>
            ))}
          </ul>
          {list.hasNextPage && (
            <div className="border-t border-slate-200 p-3 text-center dark:border-slate-800">
              <Button size="sm" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
                Load older entries
              </Button>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}
