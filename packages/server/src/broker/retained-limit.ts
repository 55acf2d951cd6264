/**
 * Bounds on the retained messages clients leave in the embedded broker. Aedes keeps every retained message in
 * memory for as long as the broker runs, whoever sent it: without a bound, anonymous clients can fill the
 * process (8,000 retained 60 KB messages took 440 MB). Each retained message is charged to an owner: the robot
 * its topic names (`tonypi/{id}/…` or the original client's `tonypi/{channel}/{id}`), otherwise the client
 * that sent it. The decision is made, and the slot taken, synchronously when the publish is authorised, so
 * publishes in flight at once cannot overshoot.
 */
import { isValidRobotId, LEGACY_CHANNEL_WORDS, TOPIC_ROOT } from '@tonypi/contracts';

export interface RetainedLimits {
  /** Largest retained payload, bytes. */
  maxBytes: number;
  /** Retained topics one owner may hold. */
  perRobot: number;
  /** Retained topics held by all clients together. */
  total: number;
}

/** Why a retained message was not kept. */
export const RETAINED_REFUSALS = ['too_large', 'robot_limit', 'total_limit', 'not_owner'] as const;
export type RetainedRefusal = (typeof RETAINED_REFUSALS)[number];

const LEGACY_WORDS = new Set<string>(LEGACY_CHANNEL_WORDS);

/** The robot a topic belongs to, in either layout; undefined when it names none. */
export function topicRobot(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT || parts.length < 3) return undefined;
  const id = LEGACY_WORDS.has(parts[1]!) ? (parts.length === 3 ? parts[2]! : undefined) : parts[1]!;
  return id !== undefined && isValidRobotId(id) ? id : undefined;
}

export class RetainedLimiter {
  /** Retained topic → its owner. */
  private readonly held = new Map<string, string>();
  private readonly perOwner = new Map<string, number>();

  constructor(readonly limits: RetainedLimits) {}

  /** Retained messages held by clients (the server's own, such as config, are not counted). */
  get size(): number {
    return this.held.size;
  }

  /**
   * A retained publish of `payloadBytes` on `topic` by the client `publisher`: undefined when the broker may
   * keep it (its slot is then taken), otherwise why not. An empty payload clears the topic: always allowed,
   * and it frees the slot.
   */
  admit(topic: string, payloadBytes: number, publisher: string): RetainedRefusal | undefined {
    if (payloadBytes === 0) {
      this.release(topic);
      return undefined;
    }
    const robot = topicRobot(topic);
    // A robot's retained state is its own: another client may not leave a status there for it.
    if (robot !== undefined && robot !== publisher) return 'not_owner';
    if (payloadBytes > this.limits.maxBytes) return 'too_large';
    const owner = robot ?? publisher;
    const previous = this.held.get(topic);
    if (previous === owner) return undefined;
    if (previous === undefined && this.held.size >= this.limits.total) return 'total_limit';
    if ((this.perOwner.get(owner) ?? 0) >= this.limits.perRobot) return 'robot_limit';
    if (previous !== undefined) this.release(topic);
    this.held.set(topic, owner);
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    return undefined;
  }

  private release(topic: string): void {
    const owner = this.held.get(topic);
    if (owner === undefined) return;
    this.held.delete(topic);
    const n = (this.perOwner.get(owner) ?? 1) - 1;
    if (n > 0) this.perOwner.set(owner, n);
    else this.perOwner.delete(owner);
  }
}
