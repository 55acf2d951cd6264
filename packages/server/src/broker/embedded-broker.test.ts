import { once } from 'node:events';
import net from 'node:net';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { anonymousAuth, EmbeddedBroker } from './embedded-broker';
import { remainingLength } from './mqtt-test-packets';

const TEN_MB = 10 * 1024 * 1024;

/** An MQTT 3.1.1 CONNECT: clean session, 60 s keep-alive, no credentials. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, ...Buffer.from('MQTT'), 0x04, 0x02, 0x00, 0x3c, 0x00, id.length]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

/** The first bytes of a QoS 0 PUBLISH announcing `length` bytes: its header, topic, and a little payload. */
function publishStart(length: number): Buffer {
  const topic = Buffer.from('tonypi/r1/telemetry');
  return Buffer.concat([
    Buffer.from([0x30, ...remainingLength(length), 0x00, topic.length]),
    topic,
    Buffer.from('{"ts":'),
  ]);
}

/** The first `n` bytes `source` emits as `event`, however they are cut into chunks or messages. */
function firstBytes(source: NodeJS.EventEmitter, event: string, n: number): Promise<number[]> {
  const bytes: number[] = [];
  return new Promise((resolve) => {
    const onChunk = (chunk: Buffer) => {
      bytes.push(...chunk);
      if (bytes.length < n) return;
      source.off(event, onChunk);
      resolve(bytes.slice(0, n));
    };
    source.on(event, onChunk);
  });
}

/** 'closed' once the connection ends; 'open' if it is still up after a few seconds. */
function closedOrStillOpen(closing: Promise<unknown>): Promise<'closed' | 'open'> {
  return Promise.race([
    closing.then(() => 'closed' as const),
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 5000).unref()),
  ]);
}

describe('EmbeddedBroker packet size limit', () => {
  let broker: EmbeddedBroker;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeEach(async () => {
    broker = await EmbeddedBroker.start({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      auth: anonymousAuth(true),
      logger: pino({ level: 'silent' }),
    });
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await broker.close();
  });

  /** A well-behaved client, subscribed to its own topic: what it publishes comes back to it. */
  async function normalClient() {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: 'tonypi_ok',
      reconnectPeriod: 0,
    });
    cleanups.push(() => client.endAsync(true));
    await client.subscribeAsync('tonypi/tonypi_ok/battery');
    const roundTrip = async (payload: string) => {
      const received = new Promise<string>((resolve) =>
        client.once('message', (_topic, message) => resolve(message.toString())),
      );
      await client.publishAsync('tonypi/tonypi_ok/battery', payload);
      return received;
    };
    return { client, roundTrip };
  }

  it('disconnects a TCP client that announces a 10 MB PUBLISH, and serves the others as before', async () => {
    const { client, roundTrip } = await normalClient();
    expect(await roundTrip('{"percent":1}')).toBe('{"percent":1}');

    const socket = net.connect(broker.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const closing = once(socket, 'close');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const connack = firstBytes(socket, 'data', 4);
    socket.write(connectPacket('tonypi_big'));
    expect(await connack).toEqual([0x20, 0x02, 0x00, 0x00]);

    socket.write(publishStart(TEN_MB));
    expect(await closedOrStillOpen(closing)).toBe('closed');
    expect(broker.packetsRefused).toBe(1);

    expect(client.connected).toBe(true);
    expect(await roundTrip('{"percent":2}')).toBe('{"percent":2}');
  });

  it('disconnects a WebSocket client that announces a 10 MB PUBLISH (many WebSocket messages)', async () => {
    const { roundTrip } = await normalClient();
    const ws = new WebSocket(`ws://127.0.0.1:${broker.wsPort}`, 'mqtt');
    cleanups.push(() => ws.terminate());
    const closing = once(ws, 'close');
    ws.on('error', () => undefined);
    await once(ws, 'open');
    const connack = firstBytes(ws, 'message', 4);
    ws.send(connectPacket('tonypi_big_ws'));
    expect(await connack).toEqual([0x20, 0x02, 0x00, 0x00]);

    // One WebSocket message, well within the server's maxPayload; the packet it starts is not.
    ws.send(publishStart(TEN_MB));
    expect(await closedOrStillOpen(closing)).toBe('closed');
    expect(broker.packetsRefused).toBe(1);
    expect(await roundTrip('{"percent":3}')).toBe('{"percent":3}');
  });

  it('accepts a PUBLISH with the largest robot payload', async () => {
    const { roundTrip } = await normalClient();
    const payload = `{"note":"${'x'.repeat(64 * 1024 - 12)}"}`;
    expect(await roundTrip(payload)).toBe(payload);
    expect(broker.packetsRefused).toBe(0);
  });
});
