import { describe, expect, it } from 'vitest';
import { httpUrl, MAX_URL_LENGTH, servableUrl } from './http-url';
import { StatusPayload } from './payloads';

describe('httpUrl', () => {
  it('keeps http and https URLs with a host, in their normalised form', () => {
    expect(httpUrl('http://10.0.0.7:8081/?action=stream')).toBe('http://10.0.0.7:8081/?action=stream');
    expect(httpUrl('https://cam.example/live')).toBe('https://cam.example/live');
    expect(httpUrl('HTTP://CAM.example:80')).toBe('http://cam.example/');
    expect(httpUrl('http://[::1]:8081/')).toBe('http://[::1]:8081/');
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    'blob:http://x/1',
    'ws://10.0.0.7:8081/',
    'ftp://10.0.0.7/',
    '//10.0.0.7:8081/',
    '/stream',
    'http://',
    '',
  ])('refuses %j', (raw) => {
    expect(httpUrl(raw)).toBeUndefined();
  });

  it(`refuses non-strings and URLs over ${MAX_URL_LENGTH} characters, before or after normalising`, () => {
    for (const raw of [undefined, null, 8081, {}, ['http://x/']]) expect(httpUrl(raw)).toBeUndefined();
    const path = (n: number) => `http://h/${'a'.repeat(n - 'http://h/'.length)}`;
    expect(httpUrl(path(MAX_URL_LENGTH))).toBe(path(MAX_URL_LENGTH));
    expect(httpUrl(path(MAX_URL_LENGTH + 1))).toBeUndefined();
    // Spaces inside are percent-encoded: 111 characters become 311.
    expect(httpUrl(`http://h/${' '.repeat(100)}x`)).toBeUndefined();
  });

  it('is what the status schema requires of camera_url', () => {
    expect(StatusPayload.safeParse({ camera_url: 'http://10.0.0.7:8081/' }).success).toBe(true);
    expect(StatusPayload.safeParse({ camera_url: 'javascript:alert(1)' }).success).toBe(false);
  });
});

describe('servableUrl', () => {
  it('serves a stored URL only if it is http(s), else null', () => {
    expect(servableUrl('http://10.0.0.7:8081/?action=stream')).toBe('http://10.0.0.7:8081/?action=stream');
    expect(servableUrl('javascript:alert(1)')).toBeNull();
    expect(servableUrl(null)).toBeNull();
    expect(servableUrl(undefined)).toBeNull();
  });
});
