import { AlertTriangle, Inbox, Loader2, RefreshCw } from 'lucide-react';
import type { ButtonHTMLAttributes, ReactNode } from 'react';
import { errorMessage } from '../api/client';
import type { RobotStatus } from '../api/types';
import { formatTime, utcTitle } from '../lib/format';

export function cx(...parts: (string | false | null | undefined)[]): string {
  return parts.filter(Boolean).join(' ');
}

type Tone = 'primary' | 'secondary' | 'danger' | 'ghost';
const TONES: Record<Tone, string> = {
  primary:
    'bg-teal-700 text-white hover:bg-teal-800 disabled:bg-teal-700/50 dark:bg-teal-700 dark:hover:bg-teal-800',
  secondary:
    'border border-slate-300 bg-white text-slate-800 hover:bg-slate-100 disabled:opacity-50 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700',
  danger:
    'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/50 dark:bg-red-600 dark:hover:bg-red-500',
  ghost:
    'text-slate-700 hover:bg-slate-200/70 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-800',
};

export function Button({
  tone = 'secondary',
  size = 'md',
  busy = false,
  className,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: Tone; size?: 'sm' | 'md'; busy?: boolean }) {
  return (
    <button
      type="button"
      {...rest}
      disabled={rest.disabled || busy}
      aria-busy={busy || undefined}
      className={cx(
        'inline-flex items-center justify-center gap-1.5 rounded-md font-medium transition-colors disabled:cursor-not-allowed',
        size === 'sm' ? 'px-2.5 py-1 text-sm' : 'px-3.5 py-2 text-sm',
        TONES[tone],
        className,
      )}
    >
      {busy && <Loader2 aria-hidden className="size-4 animate-spin" />}
      {children}
    </button>
  );
}

export function Card({ className, children }: { className?: string; children: ReactNode }) {
  return (
    <div
      className={cx(
        'rounded-lg border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900',
        className,
      )}
    >
      {children}
    </div>
  );
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-xl font-semibold tracking-tight">{title}</h1>
      {children && <div className="flex flex-wrap items-center gap-2">{children}</div>}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 p-6 text-sm text-slate-600 dark:text-slate-400">
      <Loader2 aria-hidden className="size-4 animate-spin" />
      {label}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-2 px-6 py-12 text-center">
      <Inbox aria-hidden className="size-8 text-slate-400" />
      <p className="font-medium">{title}</p>
      {children && <div className="max-w-prose text-sm text-slate-600 dark:text-slate-400">{children}</div>}
    </div>
  );
}

export function ErrorState({
  error,
  retry,
  title = 'This could not be loaded',
}: {
  error: unknown;
  retry?: () => void;
  title?: string;
}) {
  return (
    <div role="alert" className="flex flex-col items-center gap-2 px-6 py-10 text-center">
      <AlertTriangle aria-hidden className="size-8 text-amber-600" />
      <p className="font-medium">{title}</p>
      <p className="max-w-prose text-sm text-slate-600 dark:text-slate-400">{errorMessage(error)}</p>
      {retry && (
        <Button size="sm" onClick={retry}>
          <RefreshCw aria-hidden className="size-4" /> Try again
        </Button>
      )}
    </div>
  );
}

/** A time in the browser's locale, with UTC on hover. */
export function Time({ value }: { value: string | number | null | undefined }) {
  const iso = value === null || value === undefined ? undefined : new Date(value).toISOString();
  return (
    <time dateTime={iso} title={utcTitle(value)}>
      {formatTime(value)}
    </time>
  );
}

const STATUS_STYLE: Record<RobotStatus, string> = {
  online: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-200',
  offline: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-200',
  error: 'bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-200',
  maintenance: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-200',
  emergency_stopped: 'bg-red-700 text-white dark:bg-red-600',
};
const STATUS_LABEL: Record<RobotStatus, string> = {
  online: 'Online',
  offline: 'Offline',
  error: 'Error',
  maintenance: 'Maintenance',
  emergency_stopped: 'Emergency stopped',
};

export function statusLabel(status: RobotStatus): string {
  return STATUS_LABEL[status];
}

export function StatusBadge({ status }: { status: RobotStatus }) {
  return (
    <span className={cx('inline-flex rounded-full px-2 py-0.5 text-xs font-medium', STATUS_STYLE[status])}>
      {STATUS_LABEL[status]}
    </span>
  );
}

export const inputClass =
  'w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 placeholder:text-slate-500 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 dark:placeholder:text-slate-400';

/**
 * A region that scrolls sideways (a wide table on a phone): focusable, so the keyboard can reach and
 * scroll it, and named for screen readers.
 */
export function ScrollRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <section
      aria-label={label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled by keyboard (WCAG 2.1.1).
      tabIndex={0}
      className="overflow-x-auto rounded focus-visible:outline-2 focus-visible:outline-teal-600"
    >
      {children}
    </section>
  );
}
