import {
  ACTION_NAME_RE,
  CONFIG_KEY_RE,
  DEFAULT_WALK_SPEED_MPS,
  JOB_ID_RE,
  MAX_MOVE_DISTANCE_M,
  MAX_SPEAK_CHARS,
  MAX_WALK_SPEED_MPS,
  MOVE_DIRECTIONS,
  SERVO_IDS,
  SERVO_POSITION,
} from '@tonypi/contracts/command-limits';
import type { RequestableCommand } from '../../api/types';

/**
 * The command form's fields for each command of the vocabulary, with the API's own limits (imported from
 * the zod-free command-limits, which the API's schemas are built from). `satisfies Record<…>` makes a new
 * command type a compile error here until it has its form.
 */
export type FieldSpec =
  | {
      name: string;
      label: string;
      kind: 'number';
      min?: number;
      max?: number;
      positive?: boolean;
      integer?: boolean;
      default?: number;
      optional?: boolean;
      step?: string;
    }
  | {
      name: string;
      label: string;
      kind: 'choice';
      options: readonly string[];
      default?: string;
      optional?: boolean;
    }
  | {
      name: string;
      label: string;
      kind: 'text';
      maxLength: number;
      pattern?: RegExp;
      patternHint?: string;
      optional?: boolean;
      multiline?: boolean;
    }
  | { name: string; label: string; kind: 'config'; optional?: boolean };

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export const COMMAND_FIELDS = {
  move: [
    { name: 'direction', label: 'Direction', kind: 'choice', options: MOVE_DIRECTIONS, default: 'forward' },
    {
      name: 'distance_m',
      label: 'Distance (m)',
      kind: 'number',
      positive: true,
      max: MAX_MOVE_DISTANCE_M,
      default: 0.5,
      step: '0.1',
    },
    {
      name: 'speed_mps',
      label: 'Speed (m/s)',
      kind: 'number',
      positive: true,
      max: MAX_WALK_SPEED_MPS,
      default: DEFAULT_WALK_SPEED_MPS,
      step: '0.01',
    },
  ],
  turn: [
    { name: 'direction', label: 'Direction', kind: 'choice', options: ['left', 'right'], default: 'left' },
    { name: 'angle_deg', label: 'Angle (°)', kind: 'number', positive: true, max: 360, default: 90 },
  ],
  stop: [],
  resume: [],
  head_nod: [],
  head_shake: [],
  set_servo: [
    {
      name: 'servo_id',
      label: 'Servo id',
      kind: 'number',
      integer: true,
      min: SERVO_IDS.min,
      max: SERVO_IDS.max,
    },
    {
      name: 'position',
      label: 'Position',
      kind: 'number',
      integer: true,
      min: SERVO_POSITION.min,
      max: SERVO_POSITION.max,
      default: 500,
    },
  ],
  action: [
    {
      name: 'name',
      label: 'Action name',
      kind: 'text',
      maxLength: 64,
      pattern: ACTION_NAME_RE,
      patternHint: 'lower-case letters, digits, _ and -, at most 64',
    },
    { name: 'repeat', label: 'Repeat', kind: 'number', integer: true, min: 1, max: 10, default: 1 },
  ],
  speak: [{ name: 'text', label: 'Text to say', kind: 'text', maxLength: MAX_SPEAK_CHARS, multiline: true }],
  start_job: [
    { name: 'task_name', label: 'Task name', kind: 'text', maxLength: 200 },
    { name: 'items_total', label: 'Items', kind: 'number', integer: true, min: 1, max: 1000 },
    {
      name: 'job_id',
      label: 'Job id',
      kind: 'text',
      maxLength: 64,
      pattern: JOB_ID_RE,
      patternHint: 'letters, digits and _.:-, at most 64',
      optional: true,
    },
  ],
  stop_job: [{ name: 'reason', label: 'Reason', kind: 'text', maxLength: 500, optional: true }],
  status_request: [],
  battery_request: [],
  set_config: [{ name: 'values', label: 'Settings (one key=value a line)', kind: 'config' }],
  reboot: [],
  shutdown: [],
} as const satisfies Record<RequestableCommand, readonly FieldSpec[]>;

export const COMMAND_LABELS: Record<RequestableCommand, string> = {
  move: 'Move',
  turn: 'Turn',
  stop: 'Stop',
  resume: 'Resume',
  head_nod: 'Nod the head',
  head_shake: 'Shake the head',
  set_servo: 'Set a servo',
  action: 'Run an action',
  speak: 'Speak',
  start_job: 'Start a job',
  stop_job: 'Stop the job',
  status_request: 'Report status',
  battery_request: 'Report battery',
  set_config: 'Set configuration',
  reboot: 'Reboot',
  shutdown: 'Shut down',
};

export const COMMAND_ORDER = Object.keys(COMMAND_LABELS) as RequestableCommand[];

/** The form's text for a field's default. */
export function initialValue(f: FieldSpec): string {
  return 'default' in f && f.default !== undefined ? String(f.default) : '';
}

/** `key=value` lines → a config object: numbers and true/false as such, anything else as text. */
function parseConfig(textValue: string): {
  value?: Record<string, number | boolean | string>;
  error?: string;
} {
  const out: Record<string, number | boolean | string> = {};
  const lines = textValue
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length < 1 || lines.length > 32) return { error: 'between 1 and 32 key=value lines' };
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq < 1) return { error: `"${line}" is not key=value` };
    const key = line.slice(0, eq).trim();
    const raw = line.slice(eq + 1).trim();
    if (!CONFIG_KEY_RE.test(key)) return { error: `"${key}": lower-case snake_case, at most 64` };
    if (Object.hasOwn(out, key)) return { error: `"${key}" is given twice` };
    if (raw === 'true' || raw === 'false') out[key] = raw === 'true';
    else if (raw !== '' && Number.isFinite(Number(raw))) out[key] = Number(raw);
    else if (raw.length < 1 || raw.length > 200 || CONTROL.test(raw))
      return { error: `"${key}": a value of 1 to 200 characters` };
    else out[key] = raw;
  }
  return { value: out };
}

/** The params the form's values make, or an error per field (the API's rules, checked before sending). */
export function buildParams(
  command: RequestableCommand,
  values: Readonly<Record<string, string>>,
): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of COMMAND_FIELDS[command] as readonly FieldSpec[]) {
    const raw = (values[f.name] ?? '').trim();
    if (raw === '') {
      if (!f.optional) errors[f.name] = 'required';
      continue;
    }
    if (f.kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors[f.name] = 'a number';
      else if (f.integer && !Number.isInteger(n)) errors[f.name] = 'a whole number';
      else if (f.positive && n <= 0) errors[f.name] = 'more than 0';
      else if (f.min !== undefined && n < f.min) errors[f.name] = `at least ${f.min}`;
      else if (f.max !== undefined && n > f.max) errors[f.name] = `at most ${f.max}`;
      else params[f.name] = n;
    } else if (f.kind === 'choice') {
      if (!f.options.includes(raw)) errors[f.name] = `one of ${f.options.join(', ')}`;
      else params[f.name] = raw;
    } else if (f.kind === 'text') {
      if (raw.length > f.maxLength) errors[f.name] = `at most ${f.maxLength} characters`;
      else if (CONTROL.test(raw)) errors[f.name] = 'must not contain control characters';
      else if (f.pattern && !f.pattern.test(raw)) errors[f.name] = f.patternHint ?? 'not valid';
      else params[f.name] = raw;
    } else {
      const parsed = parseConfig(values[f.name] ?? '');
      if (parsed.error) errors[f.name] = parsed.error;
      else params[f.name] = parsed.value;
    }
  }
  return { params, errors };
}
