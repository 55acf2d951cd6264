import type { EventSubscriber } from '../core/event-bus';
import type { LiveHub } from './live-hub';

/**
 * What the live stream relays from the event bus: every accepted message's points (latest-value,
 * throttled by the hub), status changes, the structured robot events, the ingest's 1 Hz figures and every alert change.
 * Returns the unsubscribe.
 */
export function relayToLive(events: EventSubscriber, live: LiveHub): () => void {
  const offs = [
    events.subscribe('robot.message', (msg) => {
      for (const p of msg.points) live.telemetry(p);
    }),
    events.subscribe('robot.status', (change) => live.event('status', change)),
    events.subscribe('robot.log', (e) => live.event('log', e)),
    events.subscribe('robot.job', (e) => live.event('job', e)),
    events.subscribe('robot.scan', (e) => live.event('scan', e)),
    events.subscribe('robot.vision', (e) => live.event('vision', e)),
    events.subscribe('ingest.report', (e) => live.event('ingest', e)),
    // Every change, at once: alerts are events, never latest-value telemetry.
    events.subscribe('alert.changed', (e) => live.event('alert', e)),
    // Never throttled: every state change of a command reaches the browser.
    events.subscribe('command.changed', (e) => live.event('command', e)),
    // Every step of a report's generation: the Reports page shows its progress.
    events.subscribe('report.changed', (e) => live.event('report', e)),
  ];
  return () => {
    for (const off of offs) off();
  };
}
