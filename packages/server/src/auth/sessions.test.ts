import { describe, expect, it } from 'vitest';
import { bearerToken, type Session, SessionRefused, Sessions } from './sessions';

const T0 = 1_800_000_000_000;

function setup(ttlS = 3600) {
  let now = T0;
  const checked: string[] = [];
  const sessions = new Sessions({
    // The signature is fast-jwt's business; here the "token" is the claims as JSON.
    verifySignature: (token) => {
      checked.push(token);
      return JSON.parse(token);
    },
    ttlS,
    now: () => now,
  });
  const claims = (over: Partial<Record<keyof Session, unknown>> = {}) =>
    JSON.stringify({
      sub: '1',
      username: 'admin',
      role: 'admin',
      sid: 'session-1',
      iat: T0 / 1000,
      exp: T0 / 1000 + ttlS,
      ...over,
    });
  return { sessions, claims, checked, advance: (ms: number) => (now += ms) };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof SessionRefused ? err.reason : err),
  );

describe('Sessions', () => {
  it('accepts a token of the right shape and lifetime', async () => {
    const { sessions, claims } = setup();
    expect(await sessions.verify(claims())).toMatchObject({ sub: '1', role: 'admin' });
  });

  it("carries a check's restriction on the session, lifts it when the check stops, and a revocation outranks it", async () => {
    const { sessions, claims } = setup();
    const restriction = { code: 'password_change_required' as const, message: 'Set your own password first' };
    let restricted = true;
    let revoked = false;
    sessions.addCheck(() => (restricted ? { restriction } : undefined));
    sessions.addCheck(() => (revoked ? 'Signed out: sign in again' : undefined));
    const session = await sessions.verify(claims());
    expect(session.restriction).toEqual(restriction);
    restricted = false;
    await sessions.recheck(session);
    expect(session.restriction).toBeUndefined();
    restricted = true;
    revoked = true;
    expect(await refusal(sessions.verify(claims()))).toBe('revoked');
  });

  it('refuses a signed token of the wrong shape as invalid', async () => {
    const { sessions, claims } = setup();
    for (const over of [
      { role: 'root' },
      { sub: '' },
      { exp: 'later' },
      { exp: undefined },
      { username: 7 },
      { sid: undefined },
    ]) {
      expect(await refusal(sessions.verify(claims(over)))).toBe('invalid');
    }
  });

  it('refuses a lifetime beyond the configured TTL', async () => {
    const { sessions, claims } = setup(3600);
    expect(await refusal(sessions.verify(claims({ exp: T0 / 1000 + 7200 })))).toBe('invalid');
  });

  it('finds a verified session expired once its time has passed', async () => {
    const { sessions, claims, advance } = setup(60);
    const session = await sessions.verify(claims());
    advance(59_999);
    await sessions.recheck(session);
    expect(sessions.remainingMs(session)).toBe(1);
    advance(1);
    expect(await refusal(sessions.recheck(session))).toBe('expired');
  });

  it('refuses a session a check turns down as revoked, and tells watchers to look again', async () => {
    const { sessions, claims } = setup();
    const session = await sessions.verify(claims());
    let revoked = false;
    let rechecks = 0;
    sessions.addCheck(() => (revoked ? 'signed out' : undefined));
    const unwatch = sessions.watch(() => rechecks++);
    revoked = true;
    sessions.recheckAll();
    unwatch();
    sessions.recheckAll();

    expect(rechecks).toBe(1);
    expect(await refusal(sessions.recheck(session))).toBe('revoked');
  });

  it('checks the signature of a token once, and its expiry and every check on each use', async () => {
    const { sessions, claims, checked, advance } = setup(60);
    let revoked = false;
    sessions.addCheck(() => (revoked ? 'Signed out: sign in again' : undefined));
    const token = claims();
    const first = await sessions.verify(token);
    const again = await sessions.verify(token);
    expect(checked).toEqual([token]);
    expect(again).toEqual(first);
    // Each use gets its own session: a restriction set on one is not carried to the next.
    expect(again).not.toBe(first);

    revoked = true;
    expect(await refusal(sessions.verify(token))).toBe('revoked');
    revoked = false;
    // Refused once, forgotten: the next use is verified from the start.
    await sessions.verify(token);
    expect(checked).toEqual([token, token]);

    advance(60_000);
    expect(await refusal(sessions.verify(token))).toBe('expired');
  });

  it('remembers at most 10,000 verified tokens, forgetting the oldest first', async () => {
    const { sessions, claims, checked } = setup();
    const tokens = Array.from({ length: 10_001 }, (_, i) => claims({ sid: `s${i}` }));
    for (const t of tokens) await sessions.verify(t);
    checked.length = 0;
    await sessions.verify(tokens[10_000]!);
    await sessions.verify(tokens[1]!);
    expect(checked).toEqual([]);
    await sessions.verify(tokens[0]!);
    expect(checked).toEqual([tokens[0]]);
  });
});

describe('bearerToken', () => {
  it('reads the token of an Authorization header, any case of "Bearer"', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('asks a token verifier first, and holds its sessions to the checks too', async () => {
    const { sessions } = setup();
    sessions.addTokenVerifier(async (token) =>
      token.startsWith('key:')
        ? {
            kind: 'api_key',
            sub: 'k1',
            sid: 'k1',
            user_id: '1',
            username: 'bot',
            role: 'viewer',
            iat: 0,
            exp: null,
          }
        : undefined,
    );
    let disabled = false;
    sessions.addCheck((s) =>
      disabled && s.kind === 'api_key'
        ? { message: 'creator disabled', code: 'account_disabled' }
        : undefined,
    );
    const session = await sessions.verify('key:anything');
    expect(session).toMatchObject({ kind: 'api_key', role: 'viewer' });
    expect(sessions.remainingMs(session)).toBe(Number.POSITIVE_INFINITY);
    disabled = true;
    const err = await sessions.recheck(session).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionRefused);
    expect(err).toMatchObject({ reason: 'revoked', code: 'account_disabled', message: 'creator disabled' });
  });
});
