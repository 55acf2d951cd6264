import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMqttClientId } from './mqtt-client-id';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const dataDir = async () => {
  const d = await mkdtemp(path.join(tmpdir(), 'tonypi-client-id-'));
  dirs.push(d);
  return d;
};

describe('loadMqttClientId', () => {
  it('keeps the id it generated in DATA_DIR, so a restart resumes the same session', async () => {
    const dir = await dataDir();
    const id = await loadMqttClientId(undefined, dir);
    expect(id).toMatch(/^tonypi-server-[0-9a-f]{12}$/);
    expect(await loadMqttClientId(undefined, dir)).toBe(id);
    expect((await readFile(path.join(dir, 'mqtt-client-id'), 'utf8')).trim()).toBe(id);
  });

  it('gives each data dir (each instance) its own id, and MQTT_CLIENT_ID wins', async () => {
    const [a, b] = [await dataDir(), await dataDir()];
    expect(await loadMqttClientId(undefined, a)).not.toBe(await loadMqttClientId(undefined, b));
    expect(await loadMqttClientId('server-1', a)).toBe('server-1');
  });
});
