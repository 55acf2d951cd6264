import { Readable } from 'node:stream';
import type { AedesPacket } from 'aedes-packet';
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import { RetainedTopics } from './retained-topics';

/** What Aedes retains: a PUBLISH (an in-process one may carry a string payload). */
type RetainedPacket = AedesPacket & { topic: string; payload: Buffer | string };

/**
 * The embedded broker's session store: aedes-persistence's in-memory store, with retained messages indexed by
 * topic (retained-topics.ts) and handed to Aedes as it is. Aedes' default wraps that store in a callback
 * layer whose streams wrap each stream of the store in a second one, read through an async iterator: for
 * every CONNECT (the queued messages, usually none) and every SUBSCRIBE (its retained messages), a promise
 * per message and a stream more to create, drain and tear down. Aedes 1.x calls the promise API only.
 */
export class BrokerPersistence extends MemoryPersistence {
  private readonly retained = new RetainedTopics<RetainedPacket>();

  /** Retained messages held. */
  get retainedCount(): number {
    return this.retained.size;
  }

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    // A copy, as the store this replaces keeps: Aedes goes on using the packet it was given.
    if (packet.payload.length === 0) this.retained.delete(packet.topic);
    else this.retained.set(packet.topic, { ...packet });
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retained.match([pattern]));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.retained.match(patterns));
  }
}
