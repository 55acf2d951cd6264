import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys: `tpk_{id}_{secret}`. The id (16 hex digits) finds the row and is the key's public name in
 * the API; the secret (32 random bytes, base64url: 256 bits) is never stored, only its HMAC-SHA256
 * under a key derived from the server's secret (JWT_SECRET): a leaked table gives no usable key, and
 * a fast keyed hash costs a request microseconds (keys are random, not people's passwords, so slow
 * hashing buys nothing). Changing JWT_SECRET makes every API key invalid, as it does every session.
 */
export const API_KEY_PREFIX = 'tpk_';
const TOKEN_RE = /^tpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export class ApiKeyHasher {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    this.key = createHmac('sha256', serverSecret).update('tonypi api key v1').digest();
  }

  /** A new key: the token to show once, its id, and the hash to store. */
  generate(): { token: string; id: string; hash: string } {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    return { token: `${API_KEY_PREFIX}${id}_${secret}`, id, hash: this.hash(id, secret) };
  }

  /** True when the secret is the one whose hash is stored (compared in constant time). */
  matches(id: string, secret: string, storedHash: string): boolean {
    const expected = Buffer.from(storedHash, 'hex');
    const given = Buffer.from(this.hash(id, secret), 'hex');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private hash(id: string, secret: string): string {
    return createHmac('sha256', this.key).update(`${id}.${secret}`).digest('hex');
  }
}

/** The id and secret of a well-formed key, or undefined. */
export function parseApiKey(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN_RE.exec(token);
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined;
}
