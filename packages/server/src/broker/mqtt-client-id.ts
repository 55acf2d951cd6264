import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const VALID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The server's MQTT client id on an external broker: MQTT_CLIENT_ID, else one generated on first start and
 * kept in DATA_DIR/mqtt-client-id. Fixed, so that the broker keeps the server's persistent session (its
 * subscriptions and the QoS 1 messages queued while it is away) across a broker or a server restart; unique
 * per instance (each has its own DATA_DIR), because two connections with one id take the session from each
 * other in turn.
 */
export async function loadMqttClientId(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'mqtt-client-id');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (VALID.test(existing)) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = `tonypi-server-${randomBytes(6).toString('hex')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${id}\n`);
  return id;
}
