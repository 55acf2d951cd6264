import { describe, expect, it } from 'vitest';
import { RetainedTopics } from './retained-topics';

function store(...topics: string[]): RetainedTopics<string> {
  const r = new RetainedTopics<string>();
  for (const t of topics) r.set(t, t);
  return r;
}

const FLEET = [
  'tonypi/r1/status',
  'tonypi/r1/config',
  'tonypi/r2/status',
  'tonypi/status/r3',
  'tonypi/r1/command/response',
  'tonypi',
  'other/x',
];

describe('RetainedTopics', () => {
  it('finds the retained message of an exact topic, and nothing for one without', () => {
    const r = store(...FLEET);
    expect(r.match(['tonypi/r1/status'])).toEqual(['tonypi/r1/status']);
    expect(r.match(['tonypi/r9/status'])).toEqual([]);
    expect(r.match(['tonypi/r1'])).toEqual([]);
  });

  it('matches + to exactly one level', () => {
    const r = store(...FLEET);
    expect(r.match(['tonypi/+/status']).sort()).toEqual(['tonypi/r1/status', 'tonypi/r2/status']);
    expect(r.match(['+/r1/+']).sort()).toEqual(['tonypi/r1/config', 'tonypi/r1/status']);
    expect(r.match(['tonypi/+'])).toEqual([]);
  });

  it('matches # to the parent level and every level below', () => {
    const r = store(...FLEET);
    expect(r.match(['tonypi/r1/#']).sort()).toEqual([
      'tonypi/r1/command/response',
      'tonypi/r1/config',
      'tonypi/r1/status',
    ]);
    expect(r.match(['tonypi/#']).sort()).toEqual(FLEET.filter((t) => t.startsWith('tonypi')).sort());
    expect(r.match(['#']).sort()).toEqual([...FLEET].sort());
  });

  it('matches + to an empty level too, as live delivery does (MQTT-4.7.1-3)', () => {
    const r = store('tonypi//status', 'a//');
    expect(r.match(['tonypi/+/status'])).toEqual(['tonypi//status']);
    expect(r.match(['a/+/+'])).toEqual(['a//']);
  });

  it('never matches a $ topic with a filter that starts with a wildcard (MQTT-4.7.2-1)', () => {
    const r = store('$SYS/broker/uptime', 'tonypi/r1/status');
    expect(r.match(['#'])).toEqual(['tonypi/r1/status']);
    expect(r.match(['+/broker/uptime'])).toEqual([]);
    expect(r.match(['$SYS/#'])).toEqual(['$SYS/broker/uptime']);
  });

  it('returns each message once when several filters match it', () => {
    const r = store(...FLEET);
    expect(
      r.match(['tonypi/r1/status', 'tonypi/+/status', 'tonypi/#']).filter((t) => t === 'tonypi/r1/status'),
    ).toHaveLength(1);
  });

  it('replaces a topic’s message, and counts topics, not messages', () => {
    const r = new RetainedTopics<string>();
    r.set('tonypi/r1/status', 'online');
    r.set('tonypi/r1/status', 'offline');
    expect(r.size).toBe(1);
    expect(r.match(['tonypi/r1/status'])).toEqual(['offline']);
  });

  it('forgets a deleted topic and keeps its neighbours, the parent and the children', () => {
    const r = store('a/b', 'a/b/c', 'a/d');
    r.delete('a/b');
    expect(r.size).toBe(2);
    expect(r.match(['#']).sort()).toEqual(['a/b/c', 'a/d']);
    r.delete('a/b/c');
    r.delete('a/never');
    expect(r.size).toBe(1);
    expect(r.match(['a/#'])).toEqual(['a/d']);
    r.delete('a/d');
    expect(r.size).toBe(0);
    expect(r.match(['#'])).toEqual([]);
    r.set('a/b/c', 'again');
    expect(r.match(['a/+/c'])).toEqual(['again']);
  });
});
