import { X } from 'lucide-react';
import { Toast } from 'radix-ui';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { cx } from './ui';

export interface ToastMessage {
  title: string;
  description?: string;
  tone?: 'info' | 'success' | 'error' | 'critical';
}

interface ToastApi {
  push(message: ToastMessage): void;
}

const ToastContext = createContext<ToastApi | undefined>(undefined);
const MAX_SHOWN = 5;

const TONE: Record<NonNullable<ToastMessage['tone']>, string> = {
  info: 'border-slate-300 dark:border-slate-600',
  success: 'border-emerald-500',
  error: 'border-amber-500',
  critical: 'border-red-600 ring-2 ring-red-600/30',
};

/** Toasts (Radix: announced to screen readers, swipe or Escape to dismiss), newest on top, at most five. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<(ToastMessage & { id: number })[]>([]);
  const push = useCallback((message: ToastMessage) => {
    setToasts((list) => [{ ...message, id: Date.now() + Math.random() }, ...list].slice(0, MAX_SHOWN));
  }, []);
  const api = useMemo(() => ({ push }), [push]);
  return (
    <ToastContext.Provider value={api}>
      <Toast.Provider swipeDirection="right" duration={6000}>
        {children}
        {toasts.map((t) => (
          <Toast.Root
            key={t.id}
            type={t.tone === 'critical' ? 'foreground' : 'background'}
            duration={t.tone === 'critical' ? 15_000 : 6000}
            onOpenChange={(open) => {
              if (!open) setToasts((list) => list.filter((x) => x.id !== t.id));
            }}
            className={cx(
              'flex items-start gap-3 rounded-lg border-l-4 bg-white p-3 shadow-lg dark:bg-slate-800',
              TONE[t.tone ?? 'info'],
            )}
          >
            <div className="min-w-0 flex-1">
              <Toast.Title className="text-sm font-semibold">{t.title}</Toast.Title>
              {t.description && (
                <Toast.Description className="mt-0.5 text-sm break-words text-slate-600 dark:text-slate-300">
                  {t.description}
                </Toast.Description>
              )}
            </div>
            <Toast.Close
              aria-label="Dismiss"
              className="rounded p-0.5 text-slate-500 hover:text-slate-900 dark:hover:text-white"
            >
              <X aria-hidden className="size-4" />
            </Toast.Close>
          </Toast.Root>
        ))}
        <Toast.Viewport className="fixed right-0 bottom-0 z-50 flex w-full max-w-sm flex-col gap-2 p-4 outline-none" />
      </Toast.Provider>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error('useToast outside ToastProvider');
  return api;
}
