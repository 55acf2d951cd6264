import jpeg from 'jpeg-js';
import { type Canvas, createCanvas, drawText, fillRect } from './bitmap-font';

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;
/** Height of one independently coded stripe (a restart interval): four rows of jpeg-js's 8×8 (4:4:4) blocks. */
const BAND = 32;
const BANDS = FRAME_HEIGHT / BAND;
const QUALITY = 70;
/** Band 0 the robot id, 1 the time, 2–13 colour bars with a bright band moving down, 14 a block moving right. */
const BAR_FIRST = 2;
const BAR_BANDS = 12;
const BLOCK_POSITIONS = 16;

type Rgb = readonly [number, number, number];
const COLOUR_BARS: readonly Rgb[] = [
  [192, 192, 192],
  [192, 192, 0],
  [0, 192, 192],
  [0, 192, 0],
  [192, 0, 192],
  [192, 0, 0],
  [0, 0, 192],
];

interface Encoded {
  /** SOI … SOS of a full frame: SOF0 says 640×480 and a DRI makes every band a restart interval. */
  header?: Buffer;
  /** The entropy-coded data of the band alone, byte-aligned (as it is before a restart marker). */
  scan: Buffer;
}

/**
 * Splits a jpeg-js JPEG into its headers and its entropy-coded scan. A band encoded alone has its DC
 * predictions starting from 0 and ends padded to a byte: exactly what a restart interval is, so bands
 * encoded separately join into one valid frame with RSTn markers between them.
 */
function split(jpg: Buffer): { headers: Buffer[]; sos: Buffer; scan: Buffer } {
  const headers: Buffer[] = [];
  let i = 2;
  for (;;) {
    const marker = jpg.readUInt16BE(i);
    const len = jpg.readUInt16BE(i + 2);
    const seg = jpg.subarray(i, i + 2 + len);
    if (marker === 0xffda) return { headers, sos: seg, scan: jpg.subarray(i + 2 + len, jpg.length - 2) };
    headers.push(seg);
    i += 2 + len;
  }
}

/**
 * jpeg-js pads the scan's end with a whole 0xFF byte (stuffed: FF 00) when it was aligned already; before an
 * RSTn marker a strict decoder refuses that byte. It is padding when the band decodes the same without it.
 */
function trimPadding(jpg: Buffer, scan: Buffer): Buffer {
  const n = scan.length;
  if (n < 2 || scan[n - 2] !== 0xff || scan[n - 1] !== 0x00) return scan;
  const shorter = Buffer.concat([jpg.subarray(0, jpg.length - 4), jpg.subarray(jpg.length - 2)]);
  try {
    const a = jpeg.decode(jpg, { useTArray: true }).data;
    const b = jpeg.decode(shorter, { useTArray: true }).data;
    return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0 ? scan.subarray(0, n - 2) : scan;
  } catch {
    return scan;
  }
}

function encodeBand(c: Canvas, withHeader = false): Encoded {
  const jpg = jpeg.encode({ width: c.width, height: c.height, data: c.data }, QUALITY).data;
  const { headers, sos, scan: raw } = split(jpg);
  const scan = trimPadding(jpg, raw);
  if (!withHeader) return { scan: Buffer.from(scan) };
  const out: Buffer[] = [Buffer.from([0xff, 0xd8])];
  for (const h of headers) {
    if (h.readUInt16BE(0) === 0xffc0) {
      const sof = Buffer.from(h);
      sof.writeUInt16BE(FRAME_HEIGHT, 5);
      sof.writeUInt16BE(FRAME_WIDTH, 7);
      out.push(sof);
    } else if (h.readUInt16BE(0) !== 0xffe0) {
      out.push(h); // DQT, DHT (the JFIF APP0 is optional)
    }
  }
  const dri = Buffer.alloc(6);
  dri.writeUInt16BE(0xffdd, 0);
  dri.writeUInt16BE(4, 2);
  dri.writeUInt16BE((FRAME_WIDTH / 8) * (BAND / 8), 4);
  out.push(dri, sos);
  return { header: Buffer.concat(out), scan: Buffer.from(scan) };
}

function band(paint: (c: Canvas) => void, bg: Rgb = [16, 16, 24]): Canvas {
  const c = createCanvas(FRAME_WIDTH, BAND, bg);
  paint(c);
  return c;
}

function colourBars(c: Canvas, invert: boolean): void {
  const w = Math.ceil(FRAME_WIDTH / COLOUR_BARS.length);
  COLOUR_BARS.forEach((rgb, i) => {
    const col: Rgb = invert ? [255 - rgb[0], 255 - rgb[1], 255 - rgb[2]] : rgb;
    fillRect(c, i * w, 0, w, c.height, col);
  });
}

/** What every robot's frames share, encoded once per process. */
interface Shared {
  header: Buffer;
  bars: Buffer;
  barsLit: Buffer;
  blocks: Buffer[];
}

let shared: Shared | undefined;
let preparing: Promise<Shared> | undefined;
const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Encodes the shared bands one per event-loop turn (jpeg-js spends ~25 ms setting up each encode), so a
 * simulator inside the server never stalls it for long.
 */
export function prepareTestPattern(): Promise<void> {
  preparing ??= (async () => {
    const first = encodeBand(
      band((c) => colourBars(c, false)),
      true,
    );
    await nextTick();
    const barsLit = encodeBand(band((c) => colourBars(c, true))).scan;
    const blocks: Buffer[] = [];
    const step = (FRAME_WIDTH - 48) / (BLOCK_POSITIONS - 1);
    for (let p = 0; p < BLOCK_POSITIONS; p++) {
      await nextTick();
      blocks.push(
        encodeBand(
          band((c) => {
            fillRect(c, 0, 0, FRAME_WIDTH, BAND, [48, 48, 48]);
            fillRect(c, Math.round(p * step), 4, 48, 24, [255, 255, 255]);
          }),
        ).scan,
      );
    }
    shared = { header: first.header!, bars: first.scan, barsLit, blocks };
    return shared;
  })();
  return preparing.then(() => undefined);
}

const EOI = Buffer.from([0xff, 0xd9]);
const RST = Array.from({ length: 8 }, (_, n) => Buffer.from([0xff, 0xd0 + n]));

/** The time band, shared by every robot: one encode a second whatever the fleet's size. */
let timeKey = '';
let timeBand: Buffer = Buffer.alloc(0);

function timeText(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * A robot's synthetic camera: 640×480 JPEG frames of colour bars with a bright band moving down, a block
 * moving right, the robot's id and the time (to the second). Frames are assembled from pre-encoded bands
 * (one JPEG restart interval each): a frame costs a buffer concatenation, the time's band one small encode a
 * second. Call `prepareTestPattern()` (once per process) before the first `frame`.
 */
export class TestPattern {
  private readonly idBand: Buffer;

  constructor(readonly robotId: string) {
    this.idBand = encodeBand(
      band((c) => drawText(c, `CAM ${robotId}`.slice(0, 34), 8, 6, 3, [255, 220, 64])),
    ).scan;
  }

  /** Frame number `n` (the moving parts' position) at time `ms`. */
  frame(n: number, ms: number = Date.now()): Buffer {
    const s = shared;
    if (!s) throw new Error('prepareTestPattern() first');
    const t = timeText(ms);
    if (t !== timeKey) {
      timeKey = t;
      timeBand = encodeBand(band((c) => drawText(c, t, 8, 5, 3, [230, 230, 230]))).scan;
    }
    const lit = BAR_FIRST + (n % BAR_BANDS);
    const parts: Buffer[] = [s.header];
    for (let b = 0; b < BANDS; b++) {
      if (b > 0) parts.push(RST[(b - 1) % 8]!);
      if (b === 0) parts.push(this.idBand);
      else if (b === 1) parts.push(timeBand);
      else if (b < BAR_FIRST + BAR_BANDS) parts.push(b === lit ? s.barsLit : s.bars);
      else parts.push(s.blocks[n % BLOCK_POSITIONS]!);
    }
    parts.push(EOI);
    return Buffer.concat(parts);
  }
}
