/**
 * The InfluxDB v1 HTTP API as the store uses it: `POST /write` (gzip, precision=ms), `GET|POST /query`
 * (one statement, epoch=ms) and `/ping`, over Node's fetch with HTTP Basic auth (1.x user:password; 2.x and
 * 3.x read the password as the token). Each answer is sorted into what the store does next, as the
 * versions' error shapes differ (docs/reference: 1.x 400 "partial write", 2.x 422, 3.x 400/422 with `data`).
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { TelemetryStoreUnavailableError } from './telemetry-store';

const gzip = promisify(gzipCb);

export interface InfluxEndpoint {
  /** `http(s)://host:port`, no trailing slash, no credentials. */
  baseUrl: string;
  username?: string;
  password?: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

/** What a write answered, sorted by what to do about it. */
export type WriteOutcome =
  | { kind: 'ok' }
  /** 400/422: the lines that parsed and fit are stored, `rejected` (when the server says) are not. Never resent. */
  | { kind: 'partial'; status: number; rejected: number | undefined; message: string }
  /** 413: the body is over the server's limit; smaller batches may pass. */
  | { kind: 'too_large'; message: string }
  /** Another 4xx (401, 403, 404 no database): nothing stored, and resending it now will not help. */
  | { kind: 'refused'; status: number; message: string }
  /** 5xx, 429, a time-out or no connection: nothing stored (as far as we know); worth retrying. */
  | { kind: 'retry'; status?: number; message: string };

export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** A query the server refused (parse error, bad statement): not an outage. */
export class InfluxQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfluxQueryError';
  }
}

export interface PingResult {
  status: number;
  build: string;
  version: string;
}

export class InfluxHttp {
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly endpoint: InfluxEndpoint) {
    const { username = '', password = '' } = endpoint;
    this.auth =
      username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
    this.timeoutMs = endpoint.timeoutMs ?? 10_000;
  }

  /** Writes lines (at most 5,000, the caller's job) to one database, gzipped, timestamps in ms. */
  async write(db: string, lines: readonly string[]): Promise<WriteOutcome> {
    const body = await gzip(Buffer.from(lines.join('\n')));
    const url = `${this.endpoint.baseUrl}/write?${new URLSearchParams({ db, precision: 'ms' })}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: this.headers({ 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain; charset=utf-8' }),
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      return { kind: 'retry', message: `InfluxDB write failed: ${networkText(err)}` };
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return { kind: 'ok' };
    const message = `InfluxDB write ${res.status}: ${errorText(text)}`;
    if (res.status === 400 || res.status === 422) {
      return { kind: 'partial', status: res.status, rejected: rejectedCount(text), message };
    }
    if (res.status === 413) return { kind: 'too_large', message };
    if (res.status === 429 || res.status >= 500) return { kind: 'retry', status: res.status, message };
    return { kind: 'refused', status: res.status, message };
  }

  /**
   * Runs one statement against `db` and gives its series. SELECT and SHOW go by GET; anything else (CREATE,
   * DELETE) by POST, as 1.x requires. A missing database reads as no data (3.x creates databases on their
   * first write). Outages reject with TelemetryStoreUnavailableError, refused statements with InfluxQueryError.
   */
  async query(db: string, q: string, opts: { timeoutMs?: number } = {}): Promise<QuerySeries[]> {
    const params = new URLSearchParams({ db, q, epoch: 'ms' });
    const read = /^\s*(SELECT|SHOW)\b/i.test(q);
    let res: Response;
    try {
      res = await fetch(
        read ? `${this.endpoint.baseUrl}/query?${params}` : `${this.endpoint.baseUrl}/query`,
        {
          method: read ? 'GET' : 'POST',
          headers: this.headers(read ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
          ...(read ? {} : { body: params.toString() }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
        },
      );
    } catch (err) {
      throw new TelemetryStoreUnavailableError(`InfluxDB query failed: ${networkText(err)}`);
    }
    let text: string;
    try {
      // The time-out covers the body too: a long answer can be cut off after its headers.
      text = await res.text();
    } catch (err) {
      throw new TelemetryStoreUnavailableError(
        `InfluxDB query failed reading the answer: ${networkText(err)}`,
      );
    }
    if (res.status === 429 || res.status >= 500) {
      throw new TelemetryStoreUnavailableError(`InfluxDB query ${res.status}: ${errorText(text)}`);
    }
    if (!res.ok) throw new InfluxQueryError(`InfluxDB query ${res.status}: ${errorText(text)}`);
    let body: { results?: { error?: string; series?: QuerySeries[] }[]; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new InfluxQueryError(`InfluxDB query answered something that is not JSON: ${text.slice(0, 200)}`);
    }
    const result = body.results?.[0];
    const error = body.error ?? result?.error;
    if (error) {
      if (/database not found/i.test(error)) return [];
      throw new InfluxQueryError(`InfluxDB query: ${error}`);
    }
    return result?.series ?? [];
  }

  /** `/ping`: 204 on 1.x and 2.x, 200 with a body on 3.x; the build and version headers tell them apart. */
  async ping(): Promise<PingResult> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint.baseUrl}/ping`, {
        headers: this.headers({}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new TelemetryStoreUnavailableError(`InfluxDB unreachable: ${networkText(err)}`);
    }
    await res.text().catch(() => '');
    return {
      status: res.status,
      build: res.headers.get('x-influxdb-build') ?? '',
      version: res.headers.get('x-influxdb-version') ?? '',
    };
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return this.auth ? { ...extra, Authorization: this.auth } : extra;
  }
}

/** `dropped=N` (1.x, 2.x) or the length of 3.x's `data` list of rejected lines; undefined when not said. */
function rejectedCount(text: string): number | undefined {
  const dropped = /dropped=(\d+)/.exec(text);
  if (dropped) return Number(dropped[1]);
  try {
    const body = JSON.parse(text) as { data?: unknown };
    if (Array.isArray(body.data)) return body.data.length;
  } catch {
    // Not JSON: nothing more to learn from it.
  }
  return undefined;
}

/** The server's own words, short: `error` (1.x, 3.x) or `message` (2.x), else the text. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const said = body.error ?? body.message;
    if (typeof said === 'string') return said.slice(0, 300);
  } catch {
    // Not JSON.
  }
  return text.slice(0, 300) || '(no body)';
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, a time-out). */
function networkText(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
