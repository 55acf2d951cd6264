import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * OWASP's "device cookie": set on a successful sign-in, it marks the browser (or API client that
 * keeps cookies) as one that has signed in as that user before. Its holder may keep trying while
 * the account is locked to everyone else, throttled by its own failures. Signed (HMAC-SHA256 with
 * a key derived from the session secret), so it cannot be made up; it holds no secret itself.
 */
export const DEVICE_COOKIE = 'tonypi_device';

const VERSION = 'v1';
const MAX_AGE_S = 180 * 86_400;
/** Only the sign-in route reads it. */
const COOKIE_PATH = '/api/v1/auth';

export interface DeviceCookiesOptions {
  /** The session signing secret; the cookie key is derived from it. */
  secret: string;
  now?: () => number;
}

export class DeviceCookies {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(opts: DeviceCookiesOptions) {
    this.key = createHmac('sha256', opts.secret).update('tonypi device cookie v1').digest();
    this.now = opts.now ?? Date.now;
  }

  /** A new cookie value for a device that just signed in as `username`. */
  issue(username: string): string {
    const payload = [
      VERSION,
      Buffer.from(username).toString('base64url'),
      randomBytes(16).toString('base64url'),
      Math.floor(this.now() / 1000),
    ].join('.');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The device's id when the Cookie header holds a valid, unexpired device cookie for `username`. */
  deviceFor(cookieHeader: string | undefined, username: string): string | undefined {
    for (const value of cookieValues(cookieHeader, DEVICE_COOKIE)) {
      const parts = value.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) continue;
      const [, user, nonce, issued, signature] = parts as [string, string, string, string, string];
      const expected = Buffer.from(this.sign(parts.slice(0, 4).join('.')));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) continue;
      if (Buffer.from(user, 'base64url').toString() !== username) continue;
      const age = this.now() / 1000 - Number(issued);
      if (!(age >= -60 && age < MAX_AGE_S)) continue;
      return `device:${nonce}`;
    }
    return undefined;
  }

  /** The Set-Cookie header value: httpOnly, SameSite=Strict, Secure behind HTTPS. */
  setCookie(value: string, secure: boolean): string {
    const attrs = [
      `${DEVICE_COOKIE}=${value}`,
      `Path=${COOKIE_PATH}`,
      `Max-Age=${MAX_AGE_S}`,
      'HttpOnly',
      'SameSite=Strict',
    ];
    if (secure) attrs.push('Secure');
    return attrs.join('; ');
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** Every value of cookie `name` in a Cookie header (a client may send more than one). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values.slice(0, 8);
}
