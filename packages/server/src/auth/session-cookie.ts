import { cookieValues } from './device-cookie';

/**
 * The browser's session cookie: the same token as the bearer, in a cookie page scripts cannot read
 * (HttpOnly) and other sites cannot make the browser send (SameSite=Strict); Secure when the request
 * came over HTTPS, so it never travels in clear after that.
 */
export const SESSION_COOKIE = 'tonypi_session';

export function sessionCookie(token: string, opts: { secure: boolean; maxAgeS: number }): string {
  return attributes(`${SESSION_COOKIE}=${token}`, opts.secure, opts.maxAgeS);
}

/** The Set-Cookie value that removes the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return attributes(`${SESSION_COOKIE}=`, secure, 0);
}

function attributes(pair: string, secure: boolean, maxAgeS: number): string {
  const attrs = [
    pair,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeS))}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/** The session token of a Cookie header, or undefined (the first non-empty one if sent twice). */
export function sessionCookieToken(cookieHeader: string | undefined): string | undefined {
  return cookieValues(cookieHeader, SESSION_COOKIE).find((v) => v.length > 0);
}
