import type { ErrorEnvelope } from './types';

/** An answer other than 2xx, or no answer at all (`status` 0, `code` `network_error`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth trying again by itself: the server could not be reached, or was busy. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export const API_BASE = '/api/v1';

/** Told when the server says the session is gone (401): the app then shows the sign-in page. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];

/** `?a=1&b=x`, leaving out empty values; arrays become repeated parameters. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** A body sent as it is (a CSV import), with its content type, instead of JSON. */
  text?: { body: string; type: string };
  signal?: AbortSignal;
}

/**
 * One call of the REST API with the session cookie. Mutations carry `X-Requested-With`, which the server's
 * CSRF check accepts from its own pages. Errors arrive as ApiError with the server's code and message.
 */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-requested-with': 'tonypi-web' };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (opts.text) {
    headers['content-type'] = opts.text.type;
    body = opts.text.body;
  }
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}${queryString(opts.query)}`, {
      method: opts.method ?? 'GET',
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(
      0,
      'network_error',
      'The server cannot be reached: check that it is running and that this device is online',
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const envelope = (parsed as ErrorEnvelope | undefined)?.error;
    const err = new ApiError(
      res.status,
      envelope?.code ?? 'http_error',
      envelope?.message ?? `The server answered ${res.status} ${res.statusText}`,
      envelope?.details,
    );
    if (res.status === 401 && !path.startsWith('/auth/login')) for (const l of unauthorizedListeners) l();
    throw err;
  }
  return parsed as T;
}

/** The message to show for any error a call threw. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The API's per-field validation messages (`details.fields`, e.g. `body.warning_level`), keyed by the
 * field's name without the `body.` prefix, for showing next to each input.
 */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || err.code !== 'validation_error') return {};
  const fields = (err.details as { fields?: { field: string; message: string }[] } | undefined)?.fields;
  const out: Record<string, string> = {};
  for (const f of fields ?? []) {
    const name = f.field.replace(/^body\.?/, '') || 'body';
    out[name] ??= f.message;
  }
  return out;
}
