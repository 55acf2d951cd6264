import { useEffect, useState } from 'react';
import { cx } from '../components/ui';
import { useConnection, useLiveSource } from '../live/live-context';

/** The live stream's state, always visible: live, reconnecting (with a countdown and "retry now"), ended. */
export function ConnectionIndicator() {
  const info = useConnection();
  const source = useLiveSource();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (info.state !== 'reconnecting') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [info.state]);

  const label =
    info.state === 'live'
      ? 'Live'
      : info.state === 'connecting'
        ? 'Connecting…'
        : info.state === 'reconnecting'
          ? `Reconnecting${info.retryAt ? ` in ${Math.max(0, Math.ceil((info.retryAt - now) / 1000))} s` : '…'}`
          : info.state === 'unauthorized'
            ? 'Session ended'
            : 'Offline';
  const dot =
    info.state === 'live'
      ? 'bg-emerald-500'
      : info.state === 'reconnecting' || info.state === 'connecting'
        ? 'bg-amber-500'
        : 'bg-red-500';
  return (
    <div className="flex items-center gap-2 text-sm" title={info.reason}>
      <span
        role="status"
        aria-live="polite"
        data-testid="connection-state"
        data-state={info.state}
        className="flex items-center gap-1.5"
      >
        <span
          aria-hidden
          className={cx('size-2.5 rounded-full', dot, info.state === 'live' && 'animate-pulse')}
        />
        <span className="hidden sm:inline">{label}</span>
        <span className="sr-only sm:hidden">{label}</span>
      </span>
      {info.state === 'reconnecting' && (
        <button
          type="button"
          onClick={() => source.retryNow()}
          className="rounded px-1.5 py-0.5 text-xs underline"
        >
          Retry now
        </button>
      )}
    </div>
  );
}
