import { describe, expect, it } from 'vitest';
import { SecretBox } from '../secret-box';
import { type Channel, channelOf, storedOf, wants } from './channels';
import type { ChannelRow } from './notifications.repository';
import { retryAfterMs } from './webhook-sender';

const box = new SecretBox('k'.repeat(48));
const now = new Date('2026-12-01T00:00:00Z');
const webhook: Channel = {
  id: 1,
  name: 'hook',
  enabled: true,
  severities: ['critical'],
  changes: ['raised', 'resolved'],
  created_by: 'admin',
  created_at: now,
  updated_at: now,
  kind: 'webhook',
  webhook: {
    url: 'https://example.com/hook',
    secret: 'whsec-0123456789abcdef',
    headers: { Authorization: 'Bearer t0k' },
  },
};

function rowOf(channel: Channel, sealedWith: SecretBox): ChannelRow {
  const stored = storedOf(channel, sealedWith);
  return { ...channel, ...stored, secrets: stored.secrets };
}

describe('stored channels', () => {
  it('keep secrets and header values only sealed, and open them with the same key', () => {
    const stored = storedOf(webhook, box);
    const text = JSON.stringify(stored);
    expect(text).not.toContain('whsec-0123456789abcdef');
    expect(text).not.toContain('Bearer t0k');
    expect(stored.settings).toEqual({ url: 'https://example.com/hook', header_names: ['Authorization'] });
    expect(channelOf(rowOf(webhook, box), box)).toEqual({ channel: webhook, secretsUnreadable: false });
  });

  it('say so when the secrets were sealed under another key, instead of using them', () => {
    const other = new SecretBox('o'.repeat(48));
    const { channel, secretsUnreadable } = channelOf(rowOf(webhook, other), box);
    expect(secretsUnreadable).toBe(true);
    expect(channel).toMatchObject({ webhook: { url: 'https://example.com/hook' } });
    expect((channel as Extract<Channel, { kind: 'webhook' }>).webhook.secret).toBeUndefined();
  });

  it('seal each time anew (a random IV): the same secret never gives the same text', () => {
    expect(box.seal({ password: 'p' })).not.toBe(box.seal({ password: 'p' }));
    expect(() => box.open('v1:bad')).toThrow();
  });
});

describe('routing', () => {
  it('wants only its severities and changes, and nothing when disabled', () => {
    expect(wants(webhook, 'raised', { severity: 'critical' })).toBe(true);
    expect(wants(webhook, 'raised', { severity: 'warning' })).toBe(false);
    expect(wants(webhook, 'acknowledged', { severity: 'critical' })).toBe(false);
    expect(wants({ ...webhook, enabled: false }, 'raised', { severity: 'critical' })).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds or an HTTP date, bounded to an hour, and nothing from junk', () => {
    const at = Date.parse('2026-12-01T00:00:00Z');
    expect(retryAfterMs('7', at)).toBe(7000);
    expect(retryAfterMs('Tue, 01 Dec 2026 00:00:30 GMT', at)).toBe(30_000);
    expect(retryAfterMs('999999', at)).toBe(3_600_000);
    expect(retryAfterMs('soon', at)).toBeUndefined();
    expect(retryAfterMs(null, at)).toBeUndefined();
  });
});
