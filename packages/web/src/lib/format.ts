/** Numbers, units and times for the browser's locale; times also in UTC for a tooltip. */

const numberFormats = new Map<number, Intl.NumberFormat>();
function numberFormat(digits: number): Intl.NumberFormat {
  let f = numberFormats.get(digits);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
    numberFormats.set(digits, f);
  }
  return f;
}

export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return numberFormat(digits).format(value);
}

/** The unit a field's name ends in (`temperature_c` → °C), as the API names them. */
export function unitOf(field: string): string {
  if (field.endsWith('_percent') || field === 'percent') return '%';
  if (field.endsWith('_c')) return '°C';
  if (field.endsWith('_v')) return 'V';
  if (field.endsWith('_a')) return 'A';
  if (field.endsWith('_cm')) return 'cm';
  if (field.endsWith('_m')) return 'm';
  if (field.endsWith('_ms2')) return 'm/s²';
  if (field.endsWith('_dps')) return '°/s';
  if (field.endsWith('_deg')) return '°';
  if (field.endsWith('_s')) return 's';
  return '';
}

export function formatValue(field: string, value: number | null | undefined): string {
  const unit = unitOf(field);
  const text = formatNumber(value, unit === '%' || unit === '°C' ? 0 : 2);
  if (text === '—' || unit === '') return text;
  return unit === '%' || unit === '°' || unit === '°C' ? `${text}${unit}` : `${text} ${unit}`;
}

/** `cpu_temperature_c` → `CPU temperature`. */
export function fieldLabel(field: string): string {
  const words = field
    .replace(/_(percent|c|v|a|cm|m|ms2|dps|deg|s)$/, '')
    .split('_')
    .map((w) => (w === 'cpu' ? 'CPU' : w));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '—';
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

export function utcTitle(value: string | number | Date | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago" for a time before `now`. */
export function formatAgo(value: string | number | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined) return 'never';
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) return 'never';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 5) return 'just now';
  if (abs < 60) return relative.format(s, 'second');
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86_400), 'day');
}
