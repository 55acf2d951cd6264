/** Longest URL a robot may report (the `robots.camera_url` column's width). */
export const MAX_URL_LENGTH = 255;

/**
 * The URL a robot reported, as the server keeps and serves it: only `http:` or `https:` with a
 * host, at most MAX_URL_LENGTH characters once normalised; anything else (`javascript:`,
 * `data:`, `file:`, a relative path, not a string) gives undefined. The normalised form
 * (`URL.href`) is returned because it is what was checked: the WHATWG parser drops tabs and
 * newlines and trims control characters, so the raw string could read differently elsewhere.
 */
export function httpUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hostname === '') return undefined;
  return url.href.length <= MAX_URL_LENGTH ? url.href : undefined;
}

/** A stored URL fit to serve: rows written before URLs were checked may hold anything. */
export function servableUrl(stored: string | null | undefined): string | null {
  return httpUrl(stored) ?? null;
}
