import { describe, expect, it } from 'vitest';
import { clearedSessionCookie, sessionCookie, sessionCookieToken } from './session-cookie';

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/ and lives as long as the session', () => {
    expect(sessionCookie('tok', { secure: false, maxAgeS: 3600 })).toBe(
      'tonypi_session=tok; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict',
    );
  });

  it('is Secure when the request came over HTTPS', () => {
    expect(sessionCookie('tok', { secure: true, maxAgeS: 60 })).toBe(
      'tonypi_session=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure',
    );
    expect(clearedSessionCookie(true)).toBe(
      'tonypi_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure',
    );
  });

  it('is read from a Cookie header among others; an empty one counts as none', () => {
    expect(sessionCookieToken('a=1; tonypi_session=abc.def; b=2')).toBe('abc.def');
    expect(sessionCookieToken('tonypi_session=; tonypi_session=xyz')).toBe('xyz');
    expect(sessionCookieToken('tonypi_session=')).toBeUndefined();
    expect(sessionCookieToken(undefined)).toBeUndefined();
  });
});
