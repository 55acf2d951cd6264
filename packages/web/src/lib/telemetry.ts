import { useQuery } from '@tanstack/react-query';
import { useMemo, useRef, useState } from 'react';
import { api } from '../api/client';
import type { TelemetryResponse } from '../api/types';
import { useLiveFrames } from '../live/live-context';

/** A chart's window: the last N (follows now, live), or a fixed span. */
export type TimeWindow =
  | { kind: 'last'; ms: number; label: string }
  | { kind: 'fixed'; from: number; to: number };

export const PRESETS: readonly { key: string; label: string; ms: number }[] = [
  { key: '5m', label: '5 min', ms: 5 * 60_000 },
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3600_000 },
  { key: '6h', label: '6 h', ms: 6 * 3600_000 },
  { key: '24h', label: '24 h', ms: 86_400_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 d', ms: 30 * 86_400_000 },
];

/** The window a page's URL names (`?range=1h`, or `?from=…&to=…` in epoch ms / ISO), 1 h by default. */
export function windowFromParams(params: URLSearchParams): TimeWindow {
  const from = params.get('from');
  const to = params.get('to');
  if (from && to) {
    const f = Number.isFinite(Number(from)) ? Number(from) : Date.parse(from);
    const t = Number.isFinite(Number(to)) ? Number(to) : Date.parse(to);
    if (Number.isFinite(f) && Number.isFinite(t) && f < t) return { kind: 'fixed', from: f, to: t };
  }
  const preset = PRESETS.find((p) => p.key === params.get('range')) ?? PRESETS[2]!;
  return { kind: 'last', ms: preset.ms, label: preset.key };
}

export interface SeriesData {
  /** Epoch ms, ascending. */
  times: number[];
  /** Per field, one value per time (null: nothing in that bucket). */
  values: Record<string, (number | null)[]>;
  resolution?: string;
  bucketMs?: number;
}

/** Buckets of every field put on one time axis (each bucket's average). */
export function alignSeries(res: TelemetryResponse, fields: readonly string[]): SeriesData {
  const times = new Set<number>();
  for (const s of res.series) for (const p of s.points) times.add(Date.parse(p.t));
  const axis = [...times].sort((a, b) => a - b);
  const index = new Map(axis.map((t, i) => [t, i]));
  const values: Record<string, (number | null)[]> = {};
  for (const f of fields) values[f] = new Array(axis.length).fill(null);
  for (const s of res.series) {
    const column = values[s.field];
    if (!column) continue;
    for (const p of s.points) column[index.get(Date.parse(p.t))!] = p.avg;
  }
  return { times: axis, values, resolution: res.resolution, bucketMs: res.bucket_ms };
}

/** Points kept of the live tail before the oldest are dropped (10 Hz for an hour). */
const TAIL_MAX = 36_000;

/**
 * A robot's history of some fields of a measurement over a window, at about `points` buckets, and for a
 * "last N" window the live values appended as they arrive (the window slides; history is read again
 * when the page asks for another window).
 */
const windowKeyOf = (window: TimeWindow) =>
  window.kind === 'last' ? `last:${window.ms}` : `fixed:${window.from}:${window.to}`;

/**
 * A chart's history query (key, request, freshness): what useTelemetrySeries reads, and what a page prefetches
 * before its charts mount (the robot page, while the robot itself loads).
 */
export function telemetryQuery(opts: {
  robotId: string;
  measurement: string;
  fields: readonly string[];
  window: TimeWindow;
  points: number;
  servoId?: string | undefined;
}) {
  const { robotId, measurement, fields, window, points, servoId } = opts;
  return {
    queryKey: [
      'telemetry',
      robotId,
      measurement,
      servoId ?? '',
      fields.join(','),
      windowKeyOf(window),
      points,
    ],
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      api<TelemetryResponse>(`/robots/${encodeURIComponent(robotId)}/telemetry`, {
        query: {
          measurement,
          field: fields.join(','),
          from: window.kind === 'last' ? `${Math.round(window.ms / 1000)}s` : window.from,
          to: window.kind === 'last' ? undefined : window.to,
          points,
          servo_id: servoId,
        },
        signal,
      }),
    staleTime: window.kind === 'last' ? 60_000 : Number.POSITIVE_INFINITY,
  };
}

export function useTelemetrySeries(opts: {
  robotId: string;
  measurement: string;
  fields: readonly string[];
  window: TimeWindow;
  points: number;
  servoId?: string;
}): {
  data: SeriesData | undefined;
  error: unknown;
  isPending: boolean;
  refetch: () => void;
  range: { from: number; to: number };
} {
  const { robotId, measurement, fields, window, servoId } = opts;
  const windowKey = windowKeyOf(window);
  const query = useQuery({
    ...telemetryQuery(opts),
    placeholderData: (prev) => prev,
  });

  // The live tail, reset whenever the history is read again.
  const [tail, setTail] = useState<{ ts: number; fields: Readonly<Record<string, number>> }[]>([]);
  const tailFor = useRef('');
  const dataKey = `${windowKey}|${query.dataUpdatedAt}`;
  if (tailFor.current !== dataKey) {
    tailFor.current = dataKey;
    if (tail.length > 0) setTail([]);
  }
  useLiveFrames('telemetry', (frames) => {
    if (window.kind !== 'last') return;
    const mine = frames.filter(
      (f) =>
        f.robot_id === robotId &&
        f.measurement === measurement &&
        (servoId === undefined || f.tags?.servo_id === servoId),
    );
    if (mine.length > 0)
      setTail((t) => [...t, ...mine.map((f) => ({ ts: f.ts, fields: f.fields }))].slice(-TAIL_MAX));
  });

  const data = useMemo(() => {
    if (!query.data) return undefined;
    const base = alignSeries(query.data, fields);
    if (window.kind !== 'last' || tail.length === 0) return base;
    const last = base.times.at(-1) ?? Number.NEGATIVE_INFINITY;
    const fresh = tail.filter((p) => p.ts > last);
    if (fresh.length === 0) return base;
    const start = Date.now() - window.ms;
    const keep = base.times.findIndex((t) => t >= start);
    const cut = keep < 0 ? base.times.length : keep;
    const values: Record<string, (number | null)[]> = {};
    for (const f of fields)
      values[f] = [...(base.values[f] ?? []).slice(cut), ...fresh.map((p) => p.fields[f] ?? null)];
    return { ...base, times: [...base.times.slice(cut), ...fresh.map((p) => p.ts)], values };
  }, [query.data, tail, fields, window]);

  const range =
    window.kind === 'last'
      ? {
          from: (data?.times.at(-1) ?? Date.now()) - window.ms,
          to: Math.max(Date.now(), data?.times.at(-1) ?? 0),
        }
      : { from: window.from, to: window.to };
  return { data, error: query.error, isPending: query.isPending, refetch: () => void query.refetch(), range };
}
