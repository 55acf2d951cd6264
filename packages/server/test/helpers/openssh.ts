import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { newKeyPair } from './ssh-server';
import { waitFor } from './test-server';

export const SSHD = '/usr/sbin/sshd';

/** Debian's OpenSSH server on 127.0.0.1, a free port, a temp host key and one authorized user key. */
export interface OpenSshServer {
  port: number;
  /** The user to sign in as: the one running the tests (sshd not running as root can only log that one in). */
  user: string;
  userKey: { private: string; public: string };
  /** `SHA256:…` of the current host key. */
  fingerprint: string;
  /** Restarts sshd with a new host key (a reinstalled robot). */
  rekey(): Promise<void>;
  close(): Promise<void>;
}

export function fingerprintOf(publicKey: string): string {
  const parsed = ssh2.utils.parseKey(publicKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw key ?? new Error('no key');
  return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function startOpenSsh(): Promise<OpenSshServer> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is missing: apt-get install -y openssh-server (.ci/run does)`);
  // Privilege separation needs this directory when sshd runs as root.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-sshd-'));
  const userKey = newKeyPair();
  await writeFile(path.join(dir, 'authorized_keys'), `${userKey.public}\n`, { mode: 0o600 });
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<string> => {
    const hostKey = newKeyPair();
    const keyFile = path.join(dir, 'host_ed25519');
    await writeFile(keyFile, hostKey.private, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${keyFile}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'LogLevel ERROR',
    ].join('\n');
    await writeFile(path.join(dir, 'sshd_config'), `${config}\n`);
    const proc = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor(
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (proc.exitCode !== null) return reject(new Error(`sshd exited: ${stderr}`));
          const probe = createServer();
          probe.once('error', () => resolve(true)); // the port is taken: sshd listens
          probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
        }),
      10_000,
      'sshd listening',
    );
    return fingerprintOf(hostKey.public);
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };

  const server: OpenSshServer = {
    port,
    user: userInfo().username,
    userKey,
    fingerprint: await start(),
    async rekey() {
      await stop();
      server.fingerprint = await start();
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
