import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../test-fakes';
import { EventBus } from './event-bus';

interface TestEvents {
  'a.happened': { n: number };
  'b.happened': { text: string };
}

function bus(now: () => number = Date.now) {
  const { logger, lines } = capturingLogger();
  return { events: new EventBus<TestEvents>({ logger, now, errorLogIntervalMs: 10_000 }), lines };
}

describe('EventBus', () => {
  it('delivers an event synchronously to every subscriber of its type, in subscription order', () => {
    const { events } = bus();
    const got: string[] = [];
    events.subscribe('a.happened', (e) => got.push(`first ${e.n}`));
    events.subscribe('a.happened', (e) => got.push(`second ${e.n}`));
    events.subscribe('b.happened', (e) => got.push(`other ${e.text}`));
    events.publish('a.happened', { n: 1 });
    expect(got).toEqual(['first 1', 'second 1']);
  });

  it('publishes to nobody without a fuss, and says whether anyone listens', () => {
    const { events } = bus();
    expect(events.hasSubscribers('a.happened')).toBe(false);
    events.publish('a.happened', { n: 1 });
    const off = events.subscribe('a.happened', () => undefined);
    expect(events.hasSubscribers('a.happened')).toBe(true);
    off();
    expect(events.hasSubscribers('a.happened')).toBe(false);
  });

  it('stops delivering after unsubscribe; a second call changes nothing', () => {
    const { events } = bus();
    const got: number[] = [];
    const handler = (e: { n: number }) => got.push(e.n);
    const offFirst = events.subscribe('a.happened', handler);
    events.subscribe('a.happened', handler);
    events.publish('a.happened', { n: 1 });
    offFirst();
    offFirst();
    events.publish('a.happened', { n: 2 });
    expect(got).toEqual([1, 1, 2]);
  });

  it('lets a subscriber unsubscribe itself during a dispatch without the others missing the event', () => {
    const { events } = bus();
    const got: string[] = [];
    const off = events.subscribe('a.happened', () => {
      got.push('once');
      off();
    });
    events.subscribe('a.happened', (e) => got.push(`always ${e.n}`));
    events.publish('a.happened', { n: 1 });
    events.publish('a.happened', { n: 2 });
    expect(got).toEqual(['once', 'always 1', 'always 2']);
  });

  it('logs and counts a throwing subscriber, and still delivers to the others and returns to the publisher', () => {
    const { events, lines } = bus();
    const got: number[] = [];
    events.subscribe('a.happened', () => {
      throw new Error('subscriber bug');
    });
    events.subscribe('a.happened', (e) => got.push(e.n));
    expect(() => events.publish('a.happened', { n: 1 })).not.toThrow();
    expect(got).toEqual([1]);
    expect(events.subscriberErrors()).toEqual({ 'a.happened': 1 });
    const logged = lines.filter((l) => l.msg === 'event subscriber failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, event: 'a.happened', err: { message: 'subscriber bug' } });
  });

  it('logs a subscriber that keeps failing once per interval, with how many failures it did not log', () => {
    let clock = 0;
    const { events, lines } = bus(() => clock);
    events.subscribe('a.happened', () => {
      throw new Error('again');
    });
    for (let n = 0; n < 100; n++) events.publish('a.happened', { n });
    clock = 10_000;
    events.publish('a.happened', { n: 100 });
    const logged = lines.filter((l) => l.msg === 'event subscriber failed');
    expect(logged.map((l) => l.suppressed)).toEqual([0, 99]);
    expect(events.subscriberErrors()).toEqual({ 'a.happened': 101 });
  });
});
