import { createHmac } from 'node:crypto';
import { type AttemptOutcome, clipText, describeFailure } from './attempt';
import type { WebhookTarget } from './channels';

/**
 * The signature a receiver checks: HMAC-SHA256, keyed with the channel's secret, of the text
 * `<X-TonyPi-Timestamp>.<raw request body>`, as lowercase hex, sent as `X-TonyPi-Signature: sha256=<hex>`.
 * The timestamp (Unix seconds) is signed with the body so a captured request cannot be replayed later
 * with a fresh timestamp: a receiver refuses one whose timestamp is more than a few minutes off.
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** How much of a refusing receiver's answer the delivery log keeps. */
const RESPONSE_EXCERPT = 300;
const MAX_RETRY_AFTER_MS = 3_600_000;

export interface WebhookRequest {
  event: string;
  /** Same for every attempt of one notification: a receiver can drop the repeats. */
  deliveryKey: string;
  body: string;
}

/**
 * One POST to a webhook, within `timeoutMs` (connection, answer and its body) and until `signal` aborts.
 * Redirects are not followed: a 3xx is a failure, not retried (the URL is wrong, and the signed request
 * should go where the admin said only).
 */
export async function postWebhook(
  target: WebhookTarget,
  request: WebhookRequest,
  opts: { timeoutMs: number; signal?: AbortSignal; userAgent: string; now?: () => number },
): Promise<AttemptOutcome> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const signal = opts.signal
    ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal])
    : AbortSignal.timeout(opts.timeoutMs);
  const headers = new Headers(target.headers);
  const timestamp = String(Math.floor(now() / 1000));
  headers.set('content-type', 'application/json');
  headers.set('user-agent', opts.userAgent);
  headers.set('x-tonypi-event', request.event);
  headers.set('x-tonypi-delivery', request.deliveryKey);
  headers.set('x-tonypi-timestamp', timestamp);
  if (target.secret !== undefined) {
    headers.set('x-tonypi-signature', webhookSignature(target.secret, timestamp, request.body));
  }
  const took = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers,
      body: request.body,
      redirect: 'manual',
      signal,
    });
    const ok = res.status >= 200 && res.status < 300;
    let response: string | null = null;
    if (ok) {
      await res.body?.cancel();
    } else {
      response = clipText((await readStart(res, 4096)).trim(), RESPONSE_EXCERPT) || null;
    }
    const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
    const outcome: AttemptOutcome = {
      ok,
      retryable: !ok && retryable,
      code: res.status,
      response,
      error: ok ? null : `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      durationMs: took(),
    };
    const retryAfter = retryAfterMs(res.headers.get('retry-after'), now());
    if (!ok && retryAfter !== undefined) outcome.retryAfterMs = retryAfter;
    return outcome;
  } catch (err) {
    return {
      ok: false,
      retryable: !opts.signal?.aborted,
      code: null,
      response: null,
      error: describeFailure(err, signal, opts.timeoutMs),
      durationMs: took(),
    };
  }
}

/** Retry-After as seconds or an HTTP date, bounded to an hour; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The first `max` bytes of a body (a receiver's error page may be large, or endless), the rest cancelled. */
async function readStart(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
