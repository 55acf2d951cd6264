/**
 * The simulated warehouse floor: a 10 × 10 m room (origin in a corner, x east, y north, heading in
 * degrees counter-clockwise from east), four pick stations and a charging dock by the south wall.
 */

export const FLOOR_SIZE_M = 10;
/** Robots keep this far from the walls (a TonyPi is ~0.2 m wide). */
export const WALL_MARGIN_M = 0.3;
/** The HC-SR04-style ultrasonic sensor's range. */
export const ULTRASONIC_MAX_CM = 400;

export interface Point {
  x: number;
  y: number;
}

export interface Station extends Point {
  name: string;
}

export const STATIONS: readonly Station[] = [
  { name: 'Station A', x: 2, y: 2 },
  { name: 'Station B', x: 8, y: 2 },
  { name: 'Station C', x: 8, y: 8 },
  { name: 'Station D', x: 2, y: 8 },
];

export const CHARGER: Station = { name: 'Charging Dock', x: 5, y: 0.6 };

/** A corner of the room with poor lighting, so the light sensor has something to report. */
export const DARK_CORNER: Point = { x: 9, y: 9 };

export function clampToFloor(p: Point): Point {
  const lo = WALL_MARGIN_M;
  const hi = FLOOR_SIZE_M - WALL_MARGIN_M;
  return { x: Math.min(hi, Math.max(lo, p.x)), y: Math.min(hi, Math.max(lo, p.y)) };
}

export function onFloor(p: Point): boolean {
  return p.x >= 0 && p.x <= FLOOR_SIZE_M && p.y >= 0 && p.y <= FLOOR_SIZE_M;
}

/** Distance from (x, y) along `heading_deg` to the first wall, in metres. */
export function distanceToWall(x: number, y: number, heading_deg: number): number {
  const rad = (heading_deg * Math.PI) / 180;
  const dx = Math.cos(rad);
  const dy = Math.sin(rad);
  let best = Number.POSITIVE_INFINITY;
  if (dx > 1e-9) best = Math.min(best, (FLOOR_SIZE_M - x) / dx);
  else if (dx < -1e-9) best = Math.min(best, -x / dx);
  if (dy > 1e-9) best = Math.min(best, (FLOOR_SIZE_M - y) / dy);
  else if (dy < -1e-9) best = Math.min(best, -y / dy);
  return Math.max(0, best);
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

/** Heading from a to b in degrees, 0..360. */
export function bearing(a: Point, b: Point): number {
  return normalizeHeading((Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI);
}

export function normalizeHeading(deg: number): number {
  const h = deg % 360;
  return h < 0 ? h + 360 : h;
}

/** Signed smallest turn from `from` to `to`, in -180..180 degrees. */
export function headingError(from: number, to: number): number {
  const d = normalizeHeading(to - from);
  return d > 180 ? d - 360 : d;
}
