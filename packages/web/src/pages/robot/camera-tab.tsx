import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Camera, Expand, RefreshCw, VideoOff } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { API_BASE, api } from '../../api/client';
import type { AlertList, CameraSnapshot, CameraSnapshotList, CameraStatus, Robot } from '../../api/types';
import { useCan } from '../../auth/auth';
import { SnapshotCard } from '../../camera/snapshot-card';
import { useToast } from '../../components/toasts';
import { Button, Card, EmptyState, ErrorState, inputClass, Loading } from '../../components/ui';
import { formatNumber } from '../../lib/format';
import { ConfirmDialog } from '../admin/admin-ui';

/** How often the stream's figures (frame rate, resolution, state) are read while the tab is open. */
const STATUS_MS = 2_000;
const SNAPSHOTS_SHOWN = 24;

const STATE_LABEL: Record<CameraStatus['state'], string> = {
  no_camera: 'No camera',
  idle: 'Idle',
  connecting: 'Connecting…',
  streaming: 'Live',
  reconnecting: 'Reconnecting…',
};

/** Whether the page is visible: a hidden tab's <img> would keep the robot's camera streaming for nobody. */
function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== 'hidden');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

/**
 * The robot's camera through the server (GET /robots/{id}/camera/stream, same origin, the session's cookie):
 * the live view with its frame rate and resolution, fullscreen, a snapshot kept with the robot (operators),
 * and the snapshots kept so far. A robot without a camera, or one whose camera cannot be reached, says so.
 */
export function CameraTab({ robot }: { robot: Robot }) {
  const id = encodeURIComponent(robot.robot_id);
  const canControl = useCan('robots:control');
  const client = useQueryClient();
  const toast = useToast();
  const frame = useRef<HTMLDivElement>(null);
  // A new attempt is a new <img> request: after an error the browser would not retry by itself.
  const [attempt, setAttempt] = useState(0);
  const [failed, setFailed] = useState(false);
  const visible = usePageVisible();
  const [note, setNote] = useState('');
  const [params] = useSearchParams();
  // `?alert=N` (the alert list's "Snapshot" link) picks the alert the next snapshot documents.
  const [alertId, setAlertId] = useState(() => params.get('alert') ?? '');
  const [deleting, setDeleting] = useState<CameraSnapshot | null>(null);
  const noteId = useId();
  const alertSelectId = useId();

  const status = useQuery({
    queryKey: ['robots', 'camera', robot.robot_id],
    queryFn: ({ signal }) => api<CameraStatus>(`/robots/${id}/camera/status`, { signal }),
    refetchInterval: STATUS_MS,
  });
  const snapshots = useInfiniteQuery({
    queryKey: ['robots', 'camera-snapshots', robot.robot_id],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<CameraSnapshotList>(`/robots/${id}/camera/snapshots`, {
        signal,
        query: { limit: SNAPSHOTS_SHOWN, cursor: pageParam },
      }),
    getNextPageParam: (last) => last.next_cursor,
  });
  const shown = snapshots.data?.pages.flatMap((p) => p.items) ?? [];
  const total = snapshots.data?.pages[0]?.total;
  // The robot's unresolved alerts: a snapshot can document one of them.
  const alerts = useQuery({
    queryKey: ['alerts', 'camera-open', robot.robot_id],
    queryFn: ({ signal }) =>
      api<AlertList>('/alerts', { signal, query: { robot_id: robot.robot_id, resolved: false, limit: 20 } }),
    enabled: canControl,
  });
  const take = useMutation({
    mutationFn: () =>
      api<CameraSnapshot>(`/robots/${id}/camera/snapshots`, {
        method: 'POST',
        body: {
          ...(note.trim() ? { note: note.trim() } : {}),
          ...(alertId ? { alert_id: Number(alertId) } : {}),
        },
      }),
    onSuccess: () => {
      setNote('');
      setAlertId('');
      toast.push({ title: 'Snapshot saved with the robot', tone: 'success' });
      void client.invalidateQueries({ queryKey: ['robots', 'camera-snapshots', robot.robot_id] });
      void client.invalidateQueries({ queryKey: ['camera', 'alert-snapshots'] });
    },
    onError: (err) =>
      toast.push({ title: 'No snapshot', description: (err as Error).message, tone: 'error' }),
  });
  const remove = useMutation({
    mutationFn: (snap: CameraSnapshot) => api<null>(`/camera/snapshots/${snap.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      setDeleting(null);
      toast.push({ title: 'Snapshot deleted', tone: 'success' });
      void client.invalidateQueries({ queryKey: ['robots', 'camera-snapshots', robot.robot_id] });
      void client.invalidateQueries({ queryKey: ['camera', 'alert-snapshots'] });
    },
  });

  if (status.isPending) return <Loading label="Loading the camera…" />;
  if (status.isError) return <ErrorState error={status.error} retry={() => void status.refetch()} />;
  const s = status.data;

  if (!s.has_camera) {
    return (
      <Card>
        <EmptyState title="No camera">
          This robot reported no camera (no <code>camera_url</code> in its status). A TonyPi serves its camera
          with mjpg-streamer on port 8081; the robot's agent reports it once it runs.
        </EmptyState>
      </Card>
    );
  }

  const retry = () => {
    setFailed(false);
    setAttempt((n) => n + 1);
    void status.refetch();
  };

  return (
    <div className="space-y-4">
      <section aria-label="Camera figures" className="grid grid-cols-2 gap-2 sm:grid-cols-4">
        <Figure label="State" value={failed ? 'Unreachable' : STATE_LABEL[s.state]} testid="camera-state" />
        <Figure
          label="Frame rate"
          value={s.fps > 0 ? `${formatNumber(s.fps, 1)} fps` : '—'}
          testid="camera-fps"
        />
        <Figure
          label="Resolution"
          value={s.width && s.height ? `${s.width} × ${s.height}` : '—'}
          testid="camera-resolution"
        />
        <Figure label="Viewers" value={String(s.viewers)} />
      </section>

      <Card className="p-2">
        {failed ? (
          <div role="alert" className="flex flex-col items-center gap-2 px-6 py-12 text-center">
            <VideoOff aria-hidden className="size-8 text-amber-600" />
            <p className="font-medium">The camera is unreachable</p>
            <p className="max-w-prose text-sm text-slate-600 dark:text-slate-400">
              {s.last_error ?? 'The server could not read a stream from the robot’s camera.'}
            </p>
            <Button size="sm" onClick={retry}>
              <RefreshCw aria-hidden className="size-4" /> Try again
            </Button>
          </div>
        ) : (
          <div ref={frame} className="relative flex min-h-48 justify-center bg-black">
            {visible && (
              <img
                key={attempt}
                src={`${API_BASE}/robots/${id}/camera/stream${attempt > 0 ? `?attempt=${attempt}` : ''}`}
                alt={`Live camera of ${robot.name ?? robot.robot_id}`}
                className="max-h-[70vh] w-auto max-w-full object-contain"
                onError={() => setFailed(true)}
              />
            )}
            {s.state === 'reconnecting' && (
              <p className="absolute top-2 left-2 rounded bg-amber-100 px-2 py-0.5 text-sm text-amber-900">
                Reconnecting to the camera…
              </p>
            )}
          </div>
        )}
        <div className="flex flex-wrap items-center justify-end gap-2 pt-2">
          <Button size="sm" onClick={() => void frame.current?.requestFullscreen?.()} disabled={failed}>
            <Expand aria-hidden className="size-4" /> Fullscreen
          </Button>
          {canControl && (
            <>
              <label htmlFor={noteId} className="sr-only">
                Snapshot note (optional)
              </label>
              <input
                id={noteId}
                className={`${inputClass} w-56`}
                placeholder="Note for the snapshot (optional)"
                maxLength={500}
                value={note}
                onChange={(e) => setNote(e.target.value)}
              />
              {((alerts.data?.items.length ?? 0) > 0 || alertId !== '') && (
                <>
                  <label htmlFor={alertSelectId} className="sr-only">
                    Alert the snapshot documents (optional)
                  </label>
                  <select
                    id={alertSelectId}
                    className={`${inputClass} w-56`}
                    value={alertId}
                    onChange={(e) => setAlertId(e.target.value)}
                  >
                    <option value="">No alert</option>
                    {alertId && !alerts.data?.items.some((a) => String(a.id) === alertId) && (
                      <option value={alertId}>#{alertId}</option>
                    )}
                    {alerts.data?.items.map((a) => (
                      <option key={a.id} value={String(a.id)}>
                        #{a.id} · {a.severity} · {a.title}
                      </option>
                    ))}
                  </select>
                </>
              )}
              <Button size="sm" tone="primary" onClick={() => take.mutate()} busy={take.isPending}>
                <Camera aria-hidden className="size-4" /> Take snapshot
              </Button>
            </>
          )}
        </div>
      </Card>

      <Card className="p-4">
        <h2 className="mb-2 font-medium">Snapshots{total !== undefined ? ` (${total})` : ''}</h2>
        {snapshots.isPending ? (
          <Loading label="Loading snapshots…" />
        ) : snapshots.isError ? (
          <ErrorState error={snapshots.error} retry={() => void snapshots.refetch()} />
        ) : shown.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            No snapshots of this robot yet{canControl ? ': take one from the live view.' : '.'}
          </p>
        ) : (
          <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
            {shown.map((snap) => (
              <SnapshotCard
                key={snap.id}
                snap={snap}
                {...(canControl ? { onDelete: () => setDeleting(snap) } : {})}
              />
            ))}
          </ul>
        )}
        <ConfirmDialog
          open={deleting !== null}
          onOpenChange={(open) => {
            if (!open) {
              setDeleting(null);
              remove.reset();
            }
          }}
          title="Delete this snapshot?"
          description={
            deleting
              ? `The image taken ${new Date(deleting.taken_at).toLocaleString()} is deleted for everyone; reports that show it say it was deleted.`
              : ''
          }
          confirmLabel="Delete snapshot"
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => deleting && remove.mutate(deleting)}
        />
        {snapshots.hasNextPage && (
          <div className="pt-3 text-center">
            <Button
              size="sm"
              onClick={() => void snapshots.fetchNextPage()}
              busy={snapshots.isFetchingNextPage}
            >
              Show older snapshots
            </Button>
          </div>
        )}
      </Card>
    </div>
  );
}

function Figure({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Card className="p-3">
      <p className="text-xs text-slate-600 dark:text-slate-400">{label}</p>
      <p className="font-medium tabular-nums" data-testid={testid}>
        {value}
      </p>
    </Card>
  );
}
