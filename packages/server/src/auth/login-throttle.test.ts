import { describe, expect, it } from 'vitest';
import { addressKey, LoginThrottle, LruMap } from './login-throttle';

function clock() {
  let now = 1_800_000_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('LoginThrottle', () => {
  it('lets 5 failures of an account through, then locks it for 1 s, 2 s, 4 s … up to 15 min', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    const guess = (address: string) => ({ address, username: 'admin' });
    const waits: number[] = [];
    for (let i = 0; i < 16; i++) {
      const a = guess(`10.0.0.${i}`);
      expect(throttle.retryAfterMs(a)).toBe(0);
      throttle.failed(a);
      waits.push(throttle.retryAfterMs(guess('10.9.9.9')));
      c.advance(waits.at(-1) ?? 0);
    }
    expect(waits).toEqual([
      0, 0, 0, 0, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 900_000, 900_000,
    ]);
  });

  it('counts an attempt when it begins: of 20 sent at once only 5 are let through', () => {
    const throttle = new LoginThrottle({ now: clock().now });
    const begun = Array.from({ length: 20 }, (_, i) =>
      throttle.begin({ address: `10.9.0.${i}`, username: 'admin' }),
    );
    expect(begun.filter((b) => b.waitMs === 0)).toHaveLength(5);
  });

  it('takes back the attempt of a right password: the address keeps only its real failures', () => {
    const throttle = new LoginThrottle({ now: clock().now });
    for (let i = 0; i < 9; i++) throttle.failed({ address: '10.10.0.1', username: `u${i}` });
    for (let i = 0; i < 3; i++) {
      const a = { address: '10.10.0.1', username: 'me' };
      expect(throttle.begin(a).waitMs).toBe(0);
      throttle.succeeded(a);
    }
    expect(throttle.retryAfterMs({ address: '10.10.0.1', username: 'other' })).toBe(0);
  });

  it('treats a username that does not exist exactly like one that does', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    const trace = (username: string) =>
      Array.from({ length: 8 }, (_, i) => {
        const a = { address: `10.1.${username.length}.${i}`, username };
        const wait = throttle.retryAfterMs(a);
        if (wait === 0) throttle.failed(a);
        return wait;
      });
    expect(trace('admin')).toEqual(trace('no-such-user-at-all'));
  });

  it('throttles one address spraying many usernames after 10 failures', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 10; i++) throttle.failed({ address: '10.2.0.1', username: `user${i}` });
    expect(throttle.retryAfterMs({ address: '10.2.0.1', username: 'fresh' })).toBe(1000);
    expect(throttle.retryAfterMs({ address: '10.2.0.2', username: 'fresh' })).toBe(0);
  });

  it("lets a trusted device try while the account is locked, throttled by the device's own failures", () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 12; i++) throttle.failed({ address: '10.3.0.1', username: 'admin' });
    const owner = { address: '10.3.0.1', username: 'admin', trustedDevice: 'device:abc' };
    expect(throttle.retryAfterMs({ address: '10.3.0.2', username: 'admin' })).toBeGreaterThan(0);
    expect(throttle.retryAfterMs(owner)).toBe(0);
    for (let i = 0; i < 5; i++) throttle.failed(owner);
    expect(throttle.retryAfterMs(owner)).toBe(1000);
    throttle.succeeded({ ...owner, trustedDevice: 'device:other' });
    expect(throttle.retryAfterMs(owner)).toBe(1000);
  });

  it('clears an account on a right password but not the address', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 10; i++) throttle.failed({ address: '10.4.0.1', username: 'admin' });
    c.advance(60_000);
    throttle.succeeded({ address: '10.4.0.9', username: 'admin' });
    expect(throttle.retryAfterMs({ address: '10.4.0.9', username: 'admin' })).toBe(0);
    throttle.failed({ address: '10.4.0.1', username: 'x' });
    expect(throttle.retryAfterMs({ address: '10.4.0.1', username: 'y' })).toBeGreaterThan(0);
  });

  it('forgets a key 15 minutes after its last lock ends', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 5; i++) throttle.failed({ address: `10.5.0.${i}`, username: 'admin' });
    c.advance(1000 + 15 * 60_000);
    throttle.failed({ address: '10.5.1.1', username: 'admin' });
    expect(throttle.retryAfterMs({ address: '10.5.1.2', username: 'admin' })).toBe(0);
  });

  it('stays within its bound under a spray of 200,000 usernames, and the spray does not lift a lockout', () => {
    const c = clock();
    const throttle = new LoginThrottle({ now: c.now, maxEntries: 1000 });
    for (let i = 0; i < 6; i++) throttle.failed({ address: `10.6.0.${i}`, username: 'admin' });
    for (let i = 0; i < 200_000; i++)
      throttle.failed({ address: `10.7.${i >> 8}.${i & 255}`, username: `spray-${i}` });
    // Two tiers (unlocked, locked) of 1000 keys in each of three counters.
    expect(throttle.size).toBeLessThanOrEqual(6 * 1000);
    expect(throttle.retryAfterMs({ address: '10.8.0.1', username: 'admin' })).toBeGreaterThan(0);
  });
});

describe('LruMap', () => {
  it('evicts the least recently used key and drops expired ones', () => {
    const c = clock();
    const map = new LruMap<string, number>(2, c.now);
    map.set('a', 1, c.now() + 1000);
    map.set('b', 2, c.now() + 1000);
    map.get('a');
    map.set('c', 3, c.now() + 1000);
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([1, undefined, 3]);
    c.advance(1000);
    expect(map.get('a')).toBeUndefined();
  });
});

describe('addressKey', () => {
  it('counts IPv6 per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1:ffff:ffff:ffff:fffe')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
