/** One JPEG of a multipart stream, with the part's timestamp when the camera sent one (`X-Timestamp`). */
export interface MjpegFrame {
  jpeg: Buffer;
  /** Epoch ms the camera stamped the frame with (mjpg-streamer's `X-Timestamp: sec.usec`), else undefined. */
  timestamp?: number;
}

export type MjpegParseError = 'not_multipart' | 'oversized_frame';

export class MjpegStreamError extends Error {
  constructor(
    readonly reason: MjpegParseError,
    message: string,
  ) {
    super(message);
  }
}

/** The boundary of a `multipart/x-mixed-replace; boundary=…` content type; undefined for any other type. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/x-mixed-replace\b/i.test(contentType)) return undefined;
  const m = /boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  // Some cameras put the dashes in the parameter too.
  return b?.replace(/^--/, '');
}

/** Most bytes of a part's headers, and of what may come before the first boundary. */
const MAX_HEADER_BYTES = 8 * 1024;

/**
 * Splits an MJPEG (multipart/x-mixed-replace) body into frames as chunks arrive. Parts with a Content-Length
 * (what mjpg-streamer sends) are copied once into a buffer of that size; parts without one end at the next
 * boundary. Anything that is not such a body, or a frame over `maxFrameBytes`, throws MjpegStreamError:
 * memory stays bounded by one frame whatever the camera sends.
 */
export class MjpegParser {
  private readonly delimiter: Buffer;
  private head: Buffer = Buffer.alloc(0);
  private body: Buffer | undefined;
  private filled = 0;
  private timestamp: number | undefined;
  /** Parts without a Content-Length: the bytes so far, searched for the next boundary. */
  private open: Buffer | undefined;
  private seenBoundary = false;

  constructor(
    boundary: string,
    private readonly maxFrameBytes: number,
    private readonly onFrame: (frame: MjpegFrame) => void,
  ) {
    this.delimiter = Buffer.from(`--${boundary}`);
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.body) {
        const n = Math.min(data.length, this.body.length - this.filled);
        data.copy(this.body, this.filled, 0, n);
        this.filled += n;
        data = data.subarray(n);
        if (this.filled === this.body.length) {
          this.emit(this.body);
          this.body = undefined;
        }
        continue;
      }
      if (this.open) {
        data = this.continueOpen(data);
        continue;
      }
      this.head = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
      data = Buffer.alloc(0);
      data = this.parseHead();
    }
  }

  /** Reads a boundary line and a part's headers from `head`; returns the bytes after them. */
  private parseHead(): Buffer {
    const at = this.head.indexOf(this.delimiter);
    if (at < 0) {
      if (this.head.length > MAX_HEADER_BYTES) this.fail();
      return Buffer.alloc(0);
    }
    if (!this.seenBoundary && at > MAX_HEADER_BYTES) this.fail();
    const end = this.head.indexOf('\r\n\r\n', at);
    if (end < 0) {
      if (this.head.length - at > MAX_HEADER_BYTES) this.fail('a part header over 8 KB');
      return Buffer.alloc(0);
    }
    this.seenBoundary = true;
    const lines = this.head
      .subarray(at + this.delimiter.length, end)
      .toString('latin1')
      .split('\r\n');
    if (lines[0]?.startsWith('--')) {
      // The closing delimiter: the camera ended the stream.
      this.head = Buffer.alloc(0);
      return Buffer.alloc(0);
    }
    let length: number | undefined;
    this.timestamp = undefined;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,10}$/.test(value)) this.fail(`a part's Content-Length is ${JSON.stringify(value)}`);
        length = Number(value);
      } else if (name === 'x-timestamp') {
        const ts = Number(value);
        if (Number.isFinite(ts) && ts > 0) this.timestamp = ts * 1000;
      }
    }
    const rest = this.head.subarray(end + 4);
    this.head = Buffer.alloc(0);
    if (length !== undefined) {
      this.checkSize(length);
      this.body = Buffer.allocUnsafe(length);
      this.filled = 0;
      if (length === 0) {
        this.body = undefined;
      }
      return rest;
    }
    this.open = Buffer.alloc(0);
    return rest;
  }

  /** A part without Content-Length: up to the next `\r\n--boundary`. */
  private continueOpen(data: Buffer): Buffer {
    const prev = this.open!;
    const from = Math.max(0, prev.length - this.delimiter.length - 2);
    const all = Buffer.concat([prev, data]);
    const at = all.indexOf(Buffer.concat([Buffer.from('\r\n'), this.delimiter]), from);
    if (at < 0) {
      this.checkSize(all.length);
      this.open = all;
      return Buffer.alloc(0);
    }
    this.open = undefined;
    this.emit(all.subarray(0, at));
    return all.subarray(at + 2);
  }

  private emit(jpeg: Buffer): void {
    const ts = this.timestamp;
    this.onFrame(ts === undefined ? { jpeg } : { jpeg, timestamp: ts });
  }

  private checkSize(bytes: number): void {
    if (bytes > this.maxFrameBytes) {
      throw new MjpegStreamError(
        'oversized_frame',
        `The camera sent a frame of ${bytes} bytes, over the limit of ${this.maxFrameBytes}`,
      );
    }
  }

  private fail(what = 'no part boundary'): never {
    throw new MjpegStreamError('not_multipart', `The camera's stream is not MJPEG (${what})`);
  }
}

/** Width and height from a JPEG's SOFn segment; undefined when it has none in its headers. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < jpeg.length) {
    if (jpeg[i] !== 0xff) return undefined;
    const marker = jpeg[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = jpeg.readUInt16BE(i + 2);
    // SOF0…SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7) };
    }
    if (marker === 0xda) return undefined;
    i += 2 + len;
  }
  return undefined;
}
