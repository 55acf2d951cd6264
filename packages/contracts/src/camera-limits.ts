/**
 * The camera's limits, without zod: the web app may import this file at run time (camera.ts builds its schemas
 * from these).
 */

/** Largest JPEG frame the proxy takes from a camera; a larger one ends the stream (counted). */
export const CAMERA_MAX_FRAME_BYTES = 2 * 1024 * 1024;
/** Viewers of one robot's stream at once; one more is refused (503). */
export const CAMERA_MAX_VIEWERS = 20;
/** Longest note kept with a stored snapshot. */
export const CAMERA_NOTE_MAX_CHARS = 500;
/** Alerts one fleet-wide snapshot query may name (a page of the alert list). */
export const CAMERA_ALERT_IDS_MAX = 200;
