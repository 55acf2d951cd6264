import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { type Permission, roleMay } from '@tonypi/contracts/roles';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo } from 'react';
import { ApiError, api, onUnauthorized } from '../api/client';
import type { LoginResponse, Me, SessionResponse } from '../api/types';

export type AuthState =
  | { status: 'loading' }
  | { status: 'signed_out' }
  /** The server could not be asked (down, unreachable): not the same as signed out. */
  | { status: 'unreachable'; error: ApiError; retry: () => void }
  | { status: 'signed_in'; me: Me };

interface AuthApi {
  state: AuthState;
  signIn(username: string, password: string): Promise<LoginResponse>;
  signOut(): Promise<void>;
  /** Asks the server again who is signed in (after a password change). */
  refresh(): Promise<void>;
}

const AuthContext = createContext<AuthApi | undefined>(undefined);
export const ME_KEY = ['auth', 'me'] as const;

/** Who is signed in, or null: asked of /auth/session, which answers 200 either way (no console error). */
async function fetchMe(): Promise<Me | null> {
  const session = await api<SessionResponse>('/auth/session');
  if (!session.signed_in) return null;
  const { signed_in: _, ...me } = session;
  return me;
}

/**
 * Signed out: the session's answer first (the signed-in pages unmount with it), then everything the
 * session could read, so the next user of this browser never sees it. Not `clear()`: that would leave the
 * sign-in state's own observer watching a query no longer in the cache.
 */
function forget(client: QueryClient): void {
  client.setQueryData(ME_KEY, null);
  void client.cancelQueries({ predicate: (q) => q.queryKey[0] !== 'auth' });
  client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'auth' });
}

/** Who is signed in: the session lives in the server's httpOnly cookie, never in page storage. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const me = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 60_000, retry: false });

  useEffect(
    () =>
      onUnauthorized(() => {
        // The session ended (expired, revoked, signed out elsewhere): forget everything it could read.
        if (client.getQueryData(ME_KEY)) forget(client);
      }),
    [client],
  );

  const signIn = useCallback(
    async (username: string, password: string) => {
      const res = await api<LoginResponse>('/auth/login', { method: 'POST', body: { username, password } });
      await client.fetchQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 0 });
      return res;
    },
    [client],
  );

  const signOut = useCallback(async () => {
    try {
      await api('/auth/logout', { method: 'POST' });
    } finally {
      forget(client);
    }
  }, [client]);

  const refresh = useCallback(async () => {
    await client.invalidateQueries({ queryKey: ME_KEY });
  }, [client]);

  const state: AuthState = useMemo(() => {
    if (me.data) return { status: 'signed_in', me: me.data };
    if (me.data === null) return { status: 'signed_out' };
    if (me.error) {
      const error =
        me.error instanceof ApiError ? me.error : new ApiError(0, 'network_error', String(me.error));
      return { status: 'unreachable', error, retry: () => void me.refetch() };
    }
    return { status: 'loading' };
  }, [me.data, me.error, me.refetch]);

  const value = useMemo(() => ({ state, signIn, signOut, refresh }), [state, signIn, signOut, refresh]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}

/** The signed-in session (inside the signed-in part of the app). */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'signed_in') throw new Error('useMe while not signed in');
  return state.me;
}

/** Whether this session's role may do something: controls it may not use are not shown at all. */
export function useCan(permission: Permission): boolean {
  const { state } = useAuth();
  return state.status === 'signed_in' && roleMay(state.me.role, permission);
}
