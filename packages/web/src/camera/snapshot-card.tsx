import { Trash2 } from 'lucide-react';
import type { ReactNode } from 'react';
import { Button, Time } from '../components/ui';
import { formatNumber } from '../lib/format';

/** What every view of a stored camera snapshot shows (CameraSnapshot and a report's ReportSnapshot). */
export interface SnapshotLike {
  id: number;
  robot_id: string;
  taken_at: string;
  taken_by: string | null;
  width: number | null;
  height: number | null;
  size_bytes?: number;
  alert_id: number | null;
  note: string | null;
  url: string;
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${formatNumber(bytes / 1024 / 1024, 1)} MB`
    : `${Math.round(bytes / 1024)} KB`;
}

/**
 * A stored snapshot: the image (opens full size in a new tab), when and by whom, its size, the alert it documents
 * and its note. `onDelete` adds a delete button (operators); `showRobot` names the robot (views of many robots).
 */
export function SnapshotCard({
  snap,
  showRobot = false,
  onDelete,
  deleting = false,
  extra,
}: {
  snap: SnapshotLike;
  showRobot?: boolean;
  onDelete?: () => void;
  deleting?: boolean;
  extra?: ReactNode;
}) {
  const meta = [
    snap.width && snap.height ? `${snap.width} × ${snap.height}` : null,
    snap.size_bytes !== undefined ? sizeLabel(snap.size_bytes) : null,
    snap.alert_id !== null ? `alert #${snap.alert_id}` : null,
  ].filter(Boolean);
  return (
    <li data-testid="camera-snapshot" className="text-sm">
      <a href={snap.url} target="_blank" rel="noreferrer" className="block">
        <img
          src={snap.url}
          alt={`Snapshot ${snap.id} of ${snap.robot_id}`}
          loading="lazy"
          className="aspect-[4/3] w-full rounded border border-slate-200 bg-slate-100 object-cover dark:border-slate-800 dark:bg-slate-900"
        />
      </a>
      <div className="mt-1 flex items-start justify-between gap-1">
        <p className="min-w-0">
          {showRobot && <span className="font-medium">{snap.robot_id} · </span>}
          <Time value={snap.taken_at} />
          {snap.taken_by ? ` · ${snap.taken_by}` : ''}
        </p>
        {onDelete && (
          <Button
            size="sm"
            tone="ghost"
            onClick={onDelete}
            busy={deleting}
            aria-label={`Delete snapshot ${snap.id}`}
            title="Delete this snapshot"
          >
            <Trash2 aria-hidden className="size-4" />
          </Button>
        )}
      </div>
      {meta.length > 0 && <p className="text-xs text-slate-600 dark:text-slate-400">{meta.join(' · ')}</p>}
      {snap.note && <p className="text-xs break-words">{snap.note}</p>}
      {extra}
    </li>
  );
}
