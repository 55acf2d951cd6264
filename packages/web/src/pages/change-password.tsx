import { type FormEvent, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ApiError, api } from '../api/client';
import { useAuth, useMe } from '../auth/auth';
import { useToast } from '../components/toasts';
import { Button, Card, inputClass, PageHeader } from '../components/ui';
import { safeNext } from './sign-in';

/** At least this long (the server's rule, NewPassword in contracts). */
const MIN_LENGTH = 12;

export default function ChangePasswordPage() {
  const me = useMe();
  const { refresh } = useAuth();
  const toast = useToast();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    if (next.length < MIN_LENGTH)
      return setError(`The new password needs at least ${MIN_LENGTH} characters.`);
    if (next !== repeat) return setError('The two new passwords differ.');
    setBusy(true);
    try {
      await api('/auth/password', {
        method: 'POST',
        body: { current_password: current, new_password: next },
      });
      await refresh();
      toast.push({
        tone: 'success',
        title: 'Password changed',
        description: 'Your other sessions were signed out.',
      });
      navigate(safeNext(params.get('next')), { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'invalid_credentials'
          ? 'The current password is wrong.'
          : String(err instanceof Error ? err.message : err),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-md">
      <PageHeader title="Change your password" />
      {me.must_change_password && (
        <p
          role="status"
          className="mb-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200"
        >
          You signed in with a temporary password: set your own before you go on.
        </p>
      )}
      <Card className="p-5">
        <form onSubmit={submit} className="space-y-4">
          <input
            type="text"
            name="username"
            autoComplete="username"
            value={me.user.username}
            readOnly
            hidden
          />
          {(
            [
              ['current-password', 'Current password', current, setCurrent, 'current-password'],
              ['new-password', 'New password', next, setNext, 'new-password'],
              ['repeat-password', 'New password again', repeat, setRepeat, 'new-password'],
            ] as const
          ).map(([id, label, value, set, auto]) => (
            <div key={id} className="space-y-1">
              <label htmlFor={id} className="text-sm font-medium">
                {label}
              </label>
              <input
                id={id}
                type="password"
                autoComplete={auto}
                required
                value={value}
                onChange={(e) => set(e.target.value)}
                className={inputClass}
              />
            </div>
          ))}
          <p className="text-xs text-slate-600 dark:text-slate-400">At least {MIN_LENGTH} characters.</p>
          {error && (
            <p role="alert" className="text-sm text-red-700 dark:text-red-400">
              {error}
            </p>
          )}
          <Button type="submit" tone="primary" busy={busy}>
            Change password
          </Button>
        </form>
      </Card>
    </div>
  );
}
