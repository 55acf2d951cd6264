import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2, { type Connection } from 'ssh2';

const { Server, utils } = ssh2;

/**
 * An in-process SSH server (ssh2) on 127.0.0.1 with a freshly generated host key, for the terminal's tests:
 * one user who signs in with a password or a key, and a tiny line shell — it echoes what is typed, and knows
 * `size` (the PTY's cols×rows), `utf8` (a multibyte text split across writes), `flood N` (N KB of output),
 * `exit` (code 0) and `sleep` (no answer).
 */
export interface FakeSshServer {
  port: number;
  /** `SHA256:…` of the host key. */
  fingerprint: string;
  userKey: { private: string; public: string };
  /** Connections accepted so far (authenticated or not). */
  connections: number;
  /** A new host key (the robot was "reinstalled"): the next connection presents it. */
  rotateHostKey(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of about one public key
 * in a hundred (31 bytes instead of 32, which it then cannot parse itself): such a pair is drawn again.
 */
export function newKeyPair(opts?: Parameters<typeof utils.generateKeyPairSync>[1]): {
  private: string;
  public: string;
} {
  for (;;) {
    const pair = opts ? utils.generateKeyPairSync('ed25519', opts) : utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

export const SSH_USER = 'pi';
export const SSH_PASSWORD = 'raspberry-but-long';

export async function startFakeSshServer(): Promise<FakeSshServer> {
  const userKey = newKeyPair();
  const allowed = utils.parseKey(userKey.public);
  if (allowed instanceof Error) throw allowed;
  let hostKey = newKeyPair();
  const sockets = new Set<Connection>();
  const state = { connections: 0 };

  const start = () => {
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
      state.connections++;
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => {});
      client.on('authentication', (ctx) => {
        if (ctx.username !== SSH_USER) return ctx.reject(['password', 'publickey']);
        if (ctx.method === 'password') {
          const a = Buffer.from(ctx.password);
          const b = Buffer.from(SSH_PASSWORD);
          return a.length === b.length && timingSafeEqual(a, b)
            ? ctx.accept()
            : ctx.reject(['password', 'publickey']);
        }
        if (ctx.method === 'publickey') {
          const key = Array.isArray(allowed) ? allowed[0] : allowed;
          if (ctx.key.algo !== key.type || !ctx.key.data.equals(key.getPublicSSH())) return ctx.reject();
          if (!ctx.signature) return ctx.accept(); // the key is acceptable: the client signs next
          return key.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo)
            ? ctx.accept()
            : ctx.reject();
        }
        ctx.reject(['password', 'publickey']);
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          const session = accept();
          const size = { cols: 80, rows: 24 };
          session.on('pty', (ok, _no, info) => {
            size.cols = info.cols;
            size.rows = info.rows;
            ok?.();
          });
          session.on('window-change', (ok, _no, info) => {
            size.cols = info.cols;
            size.rows = info.rows;
            ok?.();
          });
          session.on('shell', (ok) => {
            const stream = ok();
            stream.write('welcome to the fake robot\r\n$ ');
            let line = '';
            stream.on('data', (data: Buffer) => {
              for (const ch of data.toString('utf8')) {
                if (ch !== '\r') {
                  line += ch;
                  stream.write(ch); // echo, as a terminal in cooked mode
                  continue;
                }
                stream.write('\r\n');
                const cmd = line.trim();
                line = '';
                if (cmd === 'exit') {
                  stream.exit(0);
                  stream.end();
                  return;
                }
                if (cmd === 'size') stream.write(`${size.cols}x${size.rows}\r\n`);
                else if (cmd === 'utf8') {
                  const bytes = Buffer.from('héllo → ✓\r\n', 'utf8');
                  // Split inside the multibyte characters.
                  stream.write(bytes.subarray(0, 2));
                  stream.write(bytes.subarray(2, 9));
                  stream.write(bytes.subarray(9));
                } else if (cmd.startsWith('flood ')) {
                  const kb = Number(cmd.slice(6));
                  const chunk = `${'x'.repeat(1023)}\n`;
                  for (let i = 0; i < kb; i++) stream.write(chunk);
                  stream.write('flood done\r\n');
                } else if (cmd === 'sleep') continue;
                stream.write('$ ');
              }
            });
          });
        });
      });
    });
    return server;
  };

  let server = start();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const fingerprintOf = (pub: string) => {
    const parsed = utils.parseKey(pub);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error) throw key;
    return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
  };
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const c of sockets) c.end();
      server.close(() => resolve());
    });
  const handle: FakeSshServer = {
    port,
    fingerprint: fingerprintOf(hostKey.public),
    userKey,
    get connections() {
      return state.connections;
    },
    async rotateHostKey() {
      await closeServer();
      hostKey = newKeyPair();
      handle.fingerprint = fingerprintOf(hostKey.public);
      server = start();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: closeServer,
  };
  return handle;
}
