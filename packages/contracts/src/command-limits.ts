/**
 * The command vocabulary's limits, without zod: the web app's command form checks the same bounds the API
 * does (command-vocabulary.ts builds its schemas from these) and may import this file at run time.
 */

/** Walking directions of `move` (the original client's words). */
export const MOVE_DIRECTIONS = ['forward', 'backward', 'left', 'right'] as const;
export const MAX_MOVE_DISTANCE_M = 10;
/** The TonyPi walks at about 0.15 m/s; faster than this it falls over. */
export const MAX_WALK_SPEED_MPS = 0.25;
export const DEFAULT_WALK_SPEED_MPS = 0.15;
export const TURN_RATE_DPS = 60;
/** The six bus servos: ids 1..6 (Left Hip, Left Knee, Right Hip, Right Knee, Head Pan, Head Tilt). */
export const SERVO_IDS = { min: 1, max: 6 } as const;
/** HiWonder bus servo positions: 0..1000, 500 the centre. */
export const SERVO_POSITION = { min: 0, max: 1000 } as const;
export const MAX_SPEAK_CHARS = 500;
/** An action group's file name on the robot (`wave`, `bow`, `sit_down` …): no paths, no spaces. */
export const ACTION_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const CONFIG_KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;
export const JOB_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Commands that take a robot out of service: the `robots:power` permission (admin). */
export const POWER_COMMAND_TYPES = ['shutdown', 'reboot'] as const;
