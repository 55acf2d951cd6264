/** How a report writes numbers, units, durations and times in its sentences (and the PDF in its tables). */

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A finite number rounded to `digits`, or null: what a statement's figure and a table cell hold. */
export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

/** "42.3", "1,234.5"; "n/a" for a missing value. */
export function num(value: number | null | undefined, digits = 1): string {
  const r = round(value, digits);
  if (r === null) return 'n/a';
  let f = FORMATS.get(digits);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    FORMATS.set(digits, f);
  }
  return f.format(r);
}

const FORMATS = new Map<number, Intl.NumberFormat>();

/** A number with its unit: "42.3 %", "68.0 °C", "7.40 V". */
export function withUnit(value: number | null | undefined, unit: string | null, digits = 1): string {
  const n = num(value, digits);
  if (n === 'n/a' || !unit) return n;
  return `${n} ${unit}`;
}

/** "2 h 05 min", "35 min", "40 s", "26 h 10 min" (hours up to two days), "3 d 4 h". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.round(abs / 1000)} s`;
  if (abs < HOUR) return `${Math.round(abs / MINUTE)} min`;
  if (abs < 2 * DAY) {
    const h = Math.floor(abs / HOUR);
    const m = Math.round((abs - h * HOUR) / MINUTE);
    return m === 60 ? `${h + 1} h 00 min` : `${h} h ${String(m).padStart(2, '0')} min`;
  }
  const d = Math.floor(abs / DAY);
  const h = Math.round((abs - d * DAY) / HOUR);
  return h === 24 ? `${d + 1} d 0 h` : `${d} d ${h} h`;
}

/** "2026-11-23 10:05 UTC". */
export function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The unit of a telemetry field, from the suffix of its name (DESIGN §3: units in field names). */
export function fieldUnit(measurement: string, field: string): string | null {
  if (measurement === 'battery' && field === 'percent') return '%';
  if (field.endsWith('_percent') || field === 'percent') return '%';
  if (field.endsWith('_c')) return '°C';
  if (field.endsWith('_v')) return 'V';
  if (field.endsWith('_a')) return 'A';
  if (field.endsWith('_s')) return 's';
  if (field.endsWith('_cm')) return 'cm';
  if (field.endsWith('_m')) return 'm';
  if (field.endsWith('_deg')) return '°';
  if (field.endsWith('_dps')) return '°/s';
  if (field.endsWith('_ms2')) return 'm/s²';
  return null;
}

const LABELS: Record<string, string> = {
  'system.cpu_percent': 'CPU',
  'system.memory_percent': 'Memory',
  'system.disk_percent': 'Disk',
  'system.cpu_temperature_c': 'CPU temperature',
  'system.uptime_s': 'Uptime',
  'battery.percent': 'Battery charge',
  'battery.voltage_v': 'Battery voltage',
  'battery.current_a': 'Battery current',
  'servos.temperature_c': 'temperature',
  'servos.voltage_v': 'voltage',
  'servos.load_percent': 'load',
  'servos.position': 'position',
};

/** A field's name in a sentence: "CPU", "Memory", "CPU temperature"; unknown fields in words. */
export function fieldLabel(measurement: string, field: string): string {
  const known = LABELS[`${measurement}.${field}`];
  if (known) return known;
  const words = field
    .replace(/_(percent|c|v|a|s|cm|m|deg|dps|ms2)$/, '')
    .split('_')
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
