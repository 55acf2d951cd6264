import { useEffect, useState } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { AlertFeed } from '../alerts/open-alerts';
import { useAuth } from '../auth/auth';
import { ErrorState, Loading } from '../components/ui';
import { LiveProvider } from '../live/live-context';
import { LiveSource, liveUrl } from '../live/live-source';

/** The live stream of one signed-in session: opened on sign-in, closed on sign-out. */
function SessionLive({ enabled, children }: { enabled: boolean; children: React.ReactNode }) {
  const { refresh } = useAuth();
  // Keyed by the session (below): a new session gets a new source.
  const [source] = useState(() => new LiveSource({ url: liveUrl(window.location) }));
  useEffect(() => {
    // A session on a temporary password may open no stream (4403): it starts once the password is set.
    if (!enabled) return;
    source.start();
    const off = source.onConnection(() => {
      // The server ended the session (expired, revoked): ask who is signed in, which leads to sign-in.
      if (source.connection().state === 'unauthorized') void refresh();
    });
    return () => {
      off();
      source.stop();
    };
  }, [source, refresh, enabled]);
  return <LiveProvider source={source}>{children}</LiveProvider>;
}

/** Everything behind sign-in: the page asked for is remembered and opened after signing in. */
export function SignedIn() {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') return <Loading label="Starting…" />;
  if (state.status === 'unreachable')
    return (
      <main className="mx-auto max-w-lg p-6">
        <ErrorState title="The server cannot be reached" error={state.error} retry={state.retry} />
      </main>
    );
  if (state.status === 'signed_out') {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  if (state.me.must_change_password && location.pathname !== '/account/password')
    return (
      <Navigate
        to={`/account/password?next=${encodeURIComponent(location.pathname + location.search)}`}
        replace
      />
    );
  return (
    <SessionLive
      key={`${state.me.session_id ?? state.me.user.id}:${state.me.must_change_password}`}
      enabled={!state.me.must_change_password}
    >
      {!state.me.must_change_password && <AlertFeed />}
      <Outlet />
    </SessionLive>
  );
}
