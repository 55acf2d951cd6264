import { EventEmitter } from 'node:events';
import { MAX_PAYLOAD_BYTES } from '@tonypi/contracts';
import { describe, expect, it, vi } from 'vitest';
import { remainingLength } from './mqtt-test-packets';
import {
  DEFAULT_MAX_PACKET_BYTES,
  type GuardedStream,
  guardPacketSize,
  type PacketRefusal,
  PacketSizeTracker,
} from './packet-size-guard';

/**
 * A packet of type byte `type` with a body of `length` bytes. The body is 0xff throughout: read as a header
 * by mistake, it would announce an endless length, so a tracker that loses its place refuses the stream.
 */
function packet(type: number, length: number): Buffer {
  return Buffer.concat([Buffer.from([type, ...remainingLength(length)]), Buffer.alloc(length, 0xff)]);
}

const LIMIT = 20_000;

/** Packets with 0 to 3 length bytes, the last exactly at the limit. */
const withinLimit = Buffer.concat([
  packet(0xc0, 0), // PINGREQ
  packet(0x30, 5), // PUBLISH
  packet(0x32, 127), // PUBLISH QoS 1, the longest one-byte length
  packet(0x40, 2), // PUBACK
  packet(0x30, 300),
  packet(0x82, 16_384), // SUBSCRIBE, the shortest three-byte length
  packet(0x30, LIMIT),
  packet(0xe0, 0), // DISCONNECT
]);

/** Feeds the chunks in order; the first refusal, if any. */
function feedAll(tracker: PacketSizeTracker, chunks: readonly Buffer[]): PacketRefusal | undefined {
  for (const c of chunks) {
    const refusal = tracker.feed(c);
    if (refusal) return refusal;
  }
  return undefined;
}

/** The stream cut in two at every byte: [[], whole], [first byte, rest], …, [whole, []]. */
function splitPoints(b: Buffer): Buffer[][] {
  return Array.from({ length: b.length + 1 }, (_, at) => [b.subarray(0, at), b.subarray(at)]);
}

function byteByByte(b: Buffer): Buffer[] {
  return Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));
}

describe('PacketSizeTracker', () => {
  it('defaults to the largest robot payload plus 64 KiB for topic and properties', () => {
    expect(new PacketSizeTracker().maxRemainingLength).toBe(MAX_PAYLOAD_BYTES + 64 * 1024);
    expect(DEFAULT_MAX_PACKET_BYTES).toBe(MAX_PAYLOAD_BYTES + 64 * 1024);
  });

  it('lets packets up to the limit through, many in one chunk', () => {
    expect(new PacketSizeTracker(LIMIT).feed(withinLimit)).toBeUndefined();
  });

  it('lets packets up to the limit through, one byte at a time', () => {
    expect(feedAll(new PacketSizeTracker(LIMIT), byteByByte(withinLimit))).toBeUndefined();
  });

  it('lets packets up to the limit through, whichever byte the stream is split at', () => {
    const refusedAt = splitPoints(withinLimit).filter((chunks) =>
      feedAll(new PacketSizeTracker(LIMIT), chunks),
    );
    expect(refusedAt).toEqual([]);
  });

  it('refuses the first packet over the limit, whichever byte the stream is split at', () => {
    // Its header only: a client announcing a large packet is refused before it sends the body.
    const stream = Buffer.concat([withinLimit, Buffer.from([0x30, ...remainingLength(LIMIT + 1)])]);
    const outcomes = new Set(
      splitPoints(stream).map((chunks) => JSON.stringify(feedAll(new PacketSizeTracker(LIMIT), chunks))),
    );
    expect([...outcomes]).toEqual([JSON.stringify({ reason: 'too_large', remainingLength: LIMIT + 1 })]);
    expect(feedAll(new PacketSizeTracker(LIMIT), byteByByte(stream))).toEqual({
      reason: 'too_large',
      remainingLength: LIMIT + 1,
    });
  });

  it('reads a four-byte length in full', () => {
    const tracker = new PacketSizeTracker(2 ** 28);
    const header = Buffer.from([0x30, ...remainingLength(10_000_000)]);
    expect(header).toHaveLength(5);
    expect(feedAll(tracker, byteByByte(header))).toBeUndefined();
    // The body is passed over, however it is cut, and the next header is read where it starts.
    for (let sent = 0; sent < 10_000_000; sent += 65_536) {
      expect(tracker.feed(Buffer.alloc(Math.min(65_536, 10_000_000 - sent), 0xff))).toBeUndefined();
    }
    expect(tracker.feed(packet(0xc0, 0))).toBeUndefined();
    expect(tracker.feed(Buffer.from([0x30, ...remainingLength(2 ** 28 - 1)]))).toBeUndefined();
  });

  it('refuses a length of more than four bytes as malformed', () => {
    expect(new PacketSizeTracker(2 ** 28).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toEqual({
      reason: 'malformed_length',
      remainingLength: undefined,
    });
  });

  it('reads nothing more after a refusal', () => {
    const tracker = new PacketSizeTracker(LIMIT);
    expect(tracker.feed(Buffer.from([0x30, ...remainingLength(LIMIT + 1)]))).toBeDefined();
    expect(tracker.feed(Buffer.from([0x30, ...remainingLength(LIMIT + 1)]))).toBeUndefined();
  });
});

describe('guardPacketSize', () => {
  /** A stream that emits what the test writes, and records whether it was destroyed. */
  function fakeStream() {
    const emitter = new EventEmitter();
    const stream = {
      on: (event: 'data', fn: (chunk: Buffer) => void) => emitter.on(event, fn),
      off: (event: 'data', fn: (chunk: Buffer) => void) => emitter.off(event, fn),
      destroy: vi.fn(),
    } satisfies GuardedStream;
    return {
      stream,
      write: (b: Buffer) => emitter.emit('data', b),
      listeners: () => emitter.listenerCount('data'),
    };
  }

  it('leaves a stream of packets within the limit alone', () => {
    const { stream, write } = fakeStream();
    const onRefuse = vi.fn();
    guardPacketSize(stream, onRefuse, LIMIT);
    for (const chunk of byteByByte(withinLimit.subarray(0, 400))) write(chunk);
    write(withinLimit.subarray(400));
    expect(onRefuse).not.toHaveBeenCalled();
    expect(stream.destroy).not.toHaveBeenCalled();
  });

  it('reports a packet over the limit once, destroys the stream and stops listening', () => {
    const { stream, write, listeners } = fakeStream();
    const onRefuse = vi.fn();
    guardPacketSize(stream, onRefuse, LIMIT);
    write(packet(0xc0, 0));
    write(Buffer.from([0x30, ...remainingLength(10_000_000)]));

    expect(onRefuse).toHaveBeenCalledExactlyOnceWith({ reason: 'too_large', remainingLength: 10_000_000 });
    expect(stream.destroy).toHaveBeenCalledOnce();
    expect(listeners()).toBe(0);
  });
});
