import { Bot } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/auth';
import { Button, inputClass } from '../components/ui';

/** Where to go after signing in: a page of this app, never another site. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/sign-in')) return '/';
  return next;
}

function signInMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 0)
    return 'The server cannot be reached. Check that it is running and that you are online.';
  if (err.status === 401) return 'Wrong username or password.';
  if (err.status === 429) return err.message;
  if (err.code === 'account_disabled') return 'This account is disabled: ask an administrator.';
  if (err.status >= 500) return `The server had a problem (${err.status}): try again in a moment.`;
  return err.message;
}

export function SignInPage() {
  const { state, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  if (state.status === 'signed_in') return <Navigate to={next} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await signIn(username.trim(), password);
      navigate(res.must_change_password ? `/account/password?next=${encodeURIComponent(next)}` : next, {
        replace: true,
      });
    } catch (err) {
      setError(signInMessage(err));
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form
        onSubmit={submit}
        className="w-full max-w-sm space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900"
        aria-labelledby="sign-in-title"
      >
        <div className="flex items-center gap-2">
          <Bot aria-hidden className="size-7 text-teal-700 dark:text-teal-400" />
          <h1 id="sign-in-title" className="text-lg font-semibold">
            TonyPi Fleet Monitor
          </h1>
        </div>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Sign in to watch and control your robots.
        </p>
        {state.status === 'unreachable' && (
          <p
            role="alert"
            className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200"
          >
            The server cannot be reached right now ({state.error.message}).
          </p>
        )}
        <div className="space-y-1">
          <label htmlFor="username" className="text-sm font-medium">
            Username
          </label>
          <input
            id="username"
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            className={inputClass}
          />
        </div>
        <div className="space-y-1">
          <label htmlFor="password" className="text-sm font-medium">
            Password
          </label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={inputClass}
          />
        </div>
        {error && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        )}
        <Button type="submit" tone="primary" busy={busy} className="w-full">
          Sign in
        </Button>
      </form>
    </main>
  );
}
