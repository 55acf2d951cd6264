import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Seals secrets (a JSON object) with AES-256-GCM under a server key (NOTIFICATION_SECRET_KEY for channels, SECRETS_KEY for SSH settings), so the database
 * holds `v1:<iv>:<tag>:<ciphertext>` and never the secret itself. Unlike robot secrets these are read back
 * (a webhook is signed with its secret, an SMTP login needs the password), hence encryption, not a hash.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    // Any configured string (≥ 32 characters) becomes a 256-bit key.
    this.key = createHash('sha256').update(key).digest();
  }

  seal(value: Record<string, unknown>): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), sealed]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join(':');
  }

  /** The sealed object; throws when the text was sealed under another key or altered. */
  open(text: string): Record<string, unknown> {
    const [version, iv, tag, sealed] = text.split(':');
    if (version !== VERSION || !iv || !tag || sealed === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
  }
}
