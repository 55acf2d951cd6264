import { createHash } from 'node:crypto';
import type { SshErrorCode } from '@tonypi/contracts';
// ssh2 is CommonJS: Node's ESM loader sees only its default export.
import ssh2, { type Client, type ConnectConfig } from 'ssh2';

const { Client: SshClient } = ssh2;

/** Where and how to connect: what the settings hold, secrets opened. */
export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  /** The pinned host key's SHA256 fingerprint; undefined: none yet (trust on first use). */
  pinnedFingerprint?: string;
}

export interface PresentedHostKey {
  type: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** A failed connection, classified: `code` is one of SSH_ERROR_CODES, `message` says what to do. */
export class SshFailure extends Error {
  constructor(
    readonly code: SshErrorCode,
    message: string,
    /** The key the server presented, when it got that far (a mismatch shows both). */
    readonly hostKey?: PresentedHostKey,
  ) {
    super(message);
    this.name = 'SshFailure';
  }
}

/** The OpenSSH fingerprint of a host key in the wire format (string type, then the key's fields). */
export function hostKeyOf(key: Buffer): PresentedHostKey {
  const fingerprint = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
  let type = 'unknown';
  if (key.length >= 4) {
    const n = key.readUInt32BE(0);
    if (n > 0 && n <= 64 && key.length >= 4 + n) type = key.subarray(4, 4 + n).toString('latin1');
  }
  return { type, fingerprint };
}

const UNREACHABLE = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
]);

/** What an error of ssh2 (or of the socket under it) means to the user. */
export function classify(err: Error & { level?: string; code?: string }, at: string): SshFailure {
  if (err instanceof SshFailure) return err;
  if (err.level === 'client-authentication') {
    return new SshFailure(
      'ssh_auth_failed',
      `${at} refused the login: check the username, password or private key in the robot's SSH settings`,
    );
  }
  if (err.level === 'client-timeout') {
    return new SshFailure('ssh_timeout', `${at} did not answer the SSH handshake in time`);
  }
  if (err.code === 'ECONNREFUSED') {
    return new SshFailure(
      'ssh_connection_refused',
      `${at} refused the connection: is the SSH server running on the robot, on that port?`,
    );
  }
  if (err.code === 'ETIMEDOUT') return new SshFailure('ssh_timeout', `${at} did not answer in time`);
  if (err.code && UNREACHABLE.has(err.code)) {
    return new SshFailure('ssh_unreachable', `${at} cannot be reached from the server (${err.code})`);
  }
  if (err.code === 'ECONNRESET') {
    return new SshFailure('ssh_error', `${at} closed the connection during the SSH handshake`);
  }
  return new SshFailure('ssh_error', `SSH to ${at} failed: ${err.message}`);
}

export interface ConnectOptions {
  /** Connecting, the handshake and authentication together. */
  timeoutMs: number;
}

/**
 * Connects and authenticates, checking the host key: a pinned one must match (else `ssh_host_key_mismatch`,
 * nothing sent to the host, not even the username); without one, any key is accepted and returned so the
 * caller pins it. Never hangs: every failure, the timeout included, rejects with an SshFailure.
 */
export function connectSsh(
  target: SshTarget,
  opts: ConnectOptions,
): Promise<{ client: Client; hostKey: PresentedHostKey; firstUse: boolean }> {
  const at = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let presented: PresentedHostKey | undefined;
    let refusal: SshFailure | undefined;
    let settled = false;
    const fail = (failure: SshFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.end();
      client.destroy();
      reject(failure);
    };
    // ssh2's readyTimeout covers the handshake only; this one covers a slow DNS or TCP connect too.
    const timer = setTimeout(
      () =>
        fail(
          new SshFailure('ssh_timeout', `${at} did not answer within ${Math.round(opts.timeoutMs / 1000)} s`),
        ),
      opts.timeoutMs,
    );
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeAllListeners('error');
      resolve({ client, hostKey: presented!, firstUse: target.pinnedFingerprint === undefined });
    });
    client.on('error', (err) => fail(refusal ?? classify(err, at)));
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.username,
      readyTimeout: opts.timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = hostKeyOf(key);
        if (target.pinnedFingerprint === undefined || presented.fingerprint === target.pinnedFingerprint) {
          return true;
        }
        refusal = new SshFailure(
          'ssh_host_key_mismatch',
          `The host key of ${at} changed: it presented ${presented.fingerprint} (${presented.type}), ` +
            `but ${target.pinnedFingerprint} is pinned. If the robot was reinstalled, an admin can re-trust ` +
            'its key in the robot’s SSH settings; otherwise someone may be in between.',
          presented,
        );
        return false;
      },
    };
    if (target.password !== undefined) config.password = target.password;
    if (target.privateKey !== undefined) {
      config.privateKey = target.privateKey;
      if (target.passphrase) config.passphrase = target.passphrase;
    }
    try {
      client.connect(config);
    } catch (err) {
      // A private key ssh2 cannot parse throws synchronously.
      fail(new SshFailure('ssh_error', `SSH to ${at} failed: ${(err as Error).message}`));
    }
  });
}
