/** What one attempt to deliver a notification came to. */
export interface AttemptOutcome {
  ok: boolean;
  /** A failure worth another attempt (a timeout, a refused connection, 5xx, 408, 429, an SMTP 4xx). */
  retryable: boolean;
  /** The HTTP status, or the SMTP reply code. */
  code: number | null;
  /** The SMTP reply, or the start of a refusing webhook's answer. */
  response: string | null;
  error: string | null;
  durationMs: number;
  /** The receiver asked to wait this long (Retry-After). */
  retryAfterMs?: number;
}

/** Why a fetch or an SMTP send failed, in words that name no URL and no secret. */
export function describeFailure(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    return reason?.name === 'TimeoutError'
      ? `timed out after ${timeoutMs} ms`
      : 'aborted: the server is stopping';
  }
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const code = e?.cause?.code ?? e?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export const clipText = (text: string, max = 500) => (text.length > max ? `${text.slice(0, max)}…` : text);
