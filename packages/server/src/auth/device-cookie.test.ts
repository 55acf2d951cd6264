import { describe, expect, it } from 'vitest';
import { DEVICE_COOKIE, DeviceCookies } from './device-cookie';

const SECRET = 'x'.repeat(48);

describe('DeviceCookies', () => {
  it('recognises its own cookie for the user it was issued to, and only that user', () => {
    const cookies = new DeviceCookies({ secret: SECRET });
    const value = cookies.issue('admin');
    const header = `other=1; ${DEVICE_COOKIE}=${value}`;
    expect(cookies.deviceFor(header, 'admin')).toMatch(/^device:/);
    expect(cookies.deviceFor(header, 'Admin')).toBeUndefined();
    expect(cookies.deviceFor(header, 'operator')).toBeUndefined();
  });

  it('refuses a cookie signed with another secret, a tampered one and an old one', () => {
    let now = 1_800_000_000_000;
    const cookies = new DeviceCookies({ secret: SECRET, now: () => now });
    const foreign = new DeviceCookies({ secret: 'y'.repeat(48), now: () => now }).issue('admin');
    expect(cookies.deviceFor(`${DEVICE_COOKIE}=${foreign}`, 'admin')).toBeUndefined();
    const value = cookies.issue('admin');
    const tampered = value.replace(/\.[^.]+\./, `.${Buffer.from('operator').toString('base64url')}.`);
    expect(cookies.deviceFor(`${DEVICE_COOKIE}=${tampered}`, 'operator')).toBeUndefined();
    now += 181 * 86_400_000;
    expect(cookies.deviceFor(`${DEVICE_COOKIE}=${value}`, 'admin')).toBeUndefined();
  });

  it('sets an httpOnly, SameSite=Strict cookie for the sign-in path, Secure behind HTTPS', () => {
    const cookies = new DeviceCookies({ secret: SECRET });
    expect(cookies.setCookie('v', false)).toBe(
      `${DEVICE_COOKIE}=v; Path=/api/v1/auth; Max-Age=15552000; HttpOnly; SameSite=Strict`,
    );
    expect(cookies.setCookie('v', true)).toMatch(/; Secure$/);
  });
});
