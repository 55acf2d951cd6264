import { describe, expect, it } from 'vitest';
import { jpegSize, type MjpegFrame, MjpegParser, MjpegStreamError, multipartBoundary } from './mjpeg-parser';

const jpg = (n: number, fill: number) =>
  Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(n, fill), Buffer.from([0xff, 0xd9])]);

function parseAll(body: Buffer, chunk: number, max = 1 << 20): MjpegFrame[] {
  const frames: MjpegFrame[] = [];
  const p = new MjpegParser('b', max, (f) => frames.push(f));
  for (let i = 0; i < body.length; i += chunk) p.push(body.subarray(i, i + chunk));
  return frames;
}

describe('MjpegParser', () => {
  const a = jpg(100, 1);
  const b = jpg(300, 2);
  const withLength = Buffer.concat([
    Buffer.from(
      `--b\r\nContent-Type: image/jpeg\r\nContent-Length: ${a.length}\r\nX-Timestamp: 1700000000.250\r\n\r\n`,
    ),
    a,
    Buffer.from(`\r\n--b\r\nContent-Type: image/jpeg\r\nContent-Length: ${b.length}\r\n\r\n`),
    b,
    Buffer.from('\r\n'),
  ]);

  it('splits parts with a Content-Length however the chunks fall, keeping X-Timestamp', () => {
    for (const chunk of [1, 7, 64, 10_000]) {
      const frames = parseAll(withLength, chunk);
      expect(frames.map((f) => f.jpeg)).toEqual([a, b]);
      expect(frames[0]!.timestamp).toBe(1_700_000_000_250);
      expect(frames[1]!.timestamp).toBeUndefined();
    }
  });

  it('splits parts without a Content-Length at the next boundary', () => {
    const body = Buffer.concat([
      Buffer.from('--b\r\nContent-Type: image/jpeg\r\n\r\n'),
      a,
      Buffer.from('\r\n--b\r\nContent-Type: image/jpeg\r\n\r\n'),
      b,
      Buffer.from('\r\n--b\r\n'),
    ]);
    for (const chunk of [1, 5, 1000]) expect(parseAll(body, chunk).map((f) => f.jpeg)).toEqual([a, b]);
  });

  it('refuses a frame over the limit before reading it, and a body without boundaries', () => {
    const big = Buffer.from('--b\r\nContent-Length: 5000000\r\n\r\n');
    expect(() => parseAll(big, 1000)).toThrow(MjpegStreamError);
    expect(() => parseAll(Buffer.alloc(20_000, 0x41), 1000)).toThrow(/not MJPEG/);
    const open = Buffer.concat([Buffer.from('--b\r\n\r\n'), Buffer.alloc(3000, 1)]);
    expect(() => parseAll(open, 100, 2000)).toThrow(/over the limit/);
  });
});

describe('multipartBoundary and jpegSize', () => {
  it('reads the boundary of multipart/x-mixed-replace only', () => {
    expect(multipartBoundary('multipart/x-mixed-replace;boundary=boundarydonotcross')).toBe(
      'boundarydonotcross',
    );
    expect(multipartBoundary('multipart/x-mixed-replace; boundary="--frame"')).toBe('frame');
    expect(multipartBoundary('text/html')).toBeUndefined();
  });

  it('reads a JPEG’s size from its SOF segment', () => {
    const sof = Buffer.from([
      0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    expect(jpegSize(sof)).toEqual({ width: 640, height: 480 });
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeUndefined();
  });
});
