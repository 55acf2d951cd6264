/**
 * A limit on the size of MQTT packets a client may send. Aedes 1.2 has no such option, and its parser
 * (mqtt-packet) buffers a packet until it is complete, whatever its announced length: up to 256 MB per
 * connection. The guard reads the fixed header of every packet as the bytes go by and closes the connection
 * as soon as a packet announces more than the limit, before its body is buffered.
 */
import { MAX_PAYLOAD_BYTES } from '@tonypi/contracts';

/** The largest payload a robot may send, plus room for the topic and MQTT 5 properties. */
export const DEFAULT_MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

/** Why a connection was refused: a packet announced more than the limit, or a malformed length. */
export interface PacketRefusal {
  reason: 'too_large' | 'malformed_length';
  /** The remaining length the packet announced (bytes after its fixed header); undefined when malformed. */
  remainingLength: number | undefined;
}

/** Next byte: a packet's type and flags. */
const TYPE = 0;
/** Next byte: one of the 1-4 bytes of the remaining length (7 bits each, low first, high bit = more). */
const LENGTH = 1;
/** Bytes of the current packet's variable header and payload, passed over. */
const BODY = 2;
/** A packet was refused: nothing more is read. */
const REFUSED = 3;
type State = typeof TYPE | typeof LENGTH | typeof BODY | typeof REFUSED;

/**
 * Follows MQTT fixed headers through a byte stream that arrives in chunks of any size: a header may be
 * split anywhere and a chunk may hold many packets. It never keeps or copies the bytes it reads, and passes
 * over a packet's body with one subtraction per chunk, so its cost is per packet, not per byte.
 */
export class PacketSizeTracker {
  private state: State = TYPE;
  /** The remaining length read so far, and the weight of its next byte. */
  private length = 0;
  private multiplier = 1;
  /** Body bytes still to pass over. */
  private skip = 0;

  constructor(readonly maxRemainingLength: number = DEFAULT_MAX_PACKET_BYTES) {}

  /** Reads the headers in `chunk`; a refusal on the first packet over the limit (then it stops reading). */
  feed(chunk: Uint8Array): PacketRefusal | undefined {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case BODY: {
          const take = Math.min(this.skip, n - i);
          this.skip -= take;
          i += take;
          if (this.skip === 0) this.state = TYPE;
          break;
        }
        case TYPE:
          i++;
          this.length = 0;
          this.multiplier = 1;
          this.state = LENGTH;
          break;
        case LENGTH: {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          if (byte & 0x80) {
            this.multiplier *= 128;
            // A fifth length byte is malformed (MQTT 3.1.1 §2.2.3, 5.0 §1.5.5): the parser refuses it too.
            if (this.multiplier > 128 ** 3) return this.refuse('malformed_length', undefined);
          } else if (this.length > this.maxRemainingLength) {
            return this.refuse('too_large', this.length);
          } else {
            this.skip = this.length;
            this.state = this.length === 0 ? TYPE : BODY;
          }
          break;
        }
        case REFUSED:
          return undefined;
      }
    }
    return undefined;
  }

  private refuse(reason: PacketRefusal['reason'], remainingLength: number | undefined): PacketRefusal {
    this.state = REFUSED;
    return { reason, remainingLength };
  }
}

/** The part of a socket (or any byte stream) the guard uses. */
export interface GuardedStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  destroy(): unknown;
}

/**
 * Closes `stream` when a packet on it announces more than `maxRemainingLength` bytes. It listens to 'data'
 * beside the broker, which reads the stream with 'readable'/read(): Node then emits 'data' with each chunk
 * the broker reads, before the broker parses it, so the guard sees every byte once, in order, without
 * changing the stream's flow or buffering anything, and the parser never holds more than the chunk with the
 * header.
 */
export function guardPacketSize(
  stream: GuardedStream,
  onRefuse: (refusal: PacketRefusal) => void,
  maxRemainingLength: number = DEFAULT_MAX_PACKET_BYTES,
): void {
  const tracker = new PacketSizeTracker(maxRemainingLength);
  const onData = (chunk: Buffer) => {
    const refusal = tracker.feed(chunk);
    if (!refusal) return;
    stream.off('data', onData);
    onRefuse(refusal);
    stream.destroy();
  };
  stream.on('data', onData);
}
