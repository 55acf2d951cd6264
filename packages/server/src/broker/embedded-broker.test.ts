import { once } from 'node:events';
import net from 'node:net';
import type { Readable } from 'node:stream';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLoopbackBroker, waitFor } from '../test-fakes';
import type { EmbeddedBroker } from './embedded-broker';
import { remainingLength } from './mqtt-test-packets';

const TEN_MB = 10 * 1024 * 1024;

/** An MQTT 3.1.1 CONNECT: clean session, 60 s keep-alive, no credentials. */
function connectPacket(clientId: string | Buffer): Buffer {
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
    broker = await startLoopbackBroker();
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

/** A QoS 0 PUBLISH whose topic is the given bytes, as a client that does not check them would send it. */
function rawPublish(topic: Buffer, payload = Buffer.from('{"status":"online"}')): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, payload]);
  return Buffer.concat([Buffer.from([0x30, ...remainingLength(body.length)]), body]);
}

describe('EmbeddedBroker limits', () => {
  let broker: EmbeddedBroker;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  async function start(opts: Partial<Parameters<typeof EmbeddedBroker.start>[0]> = {}) {
    broker = await startLoopbackBroker(opts);
    return broker;
  }

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await broker?.close();
  });

  async function client(
    clientId: string,
    opts: mqtt.IClientOptions = {},
    url = `mqtt://127.0.0.1:${broker.port}`,
  ) {
    const c = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, ...opts });
    cleanups.push(() => c.endAsync(true));
    return c;
  }

  /** Every message the broker delivers on `filter` to an in-process subscriber (as the ingest is one). */
  async function record(filter: string) {
    const seen: Array<{ topic: string; payload: string; clientId?: string }> = [];
    await new Promise<void>((resolve) =>
      broker.aedes.subscribe(
        filter,
        (packet: { topic: string; payload: Buffer | string; clientId?: string }, cb: () => void) => {
          seen.push({ topic: packet.topic, payload: packet.payload.toString(), clientId: packet.clientId });
          cb();
        },
        resolve,
      ),
    );
    return seen;
  }

  async function retainedTopics(): Promise<string[]> {
    const topics: string[] = [];
    const persistence = (
      broker.aedes as unknown as { persistence: { createRetainedStream(p: string): Readable } }
    ).persistence;
    for await (const p of persistence.createRetainedStream('#')) topics.push((p as { topic: string }).topic);
    return topics.sort();
  }

  async function rawClient(clientId: string) {
    const socket = net.connect(broker.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const closing = once(socket, 'close');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const connack = firstBytes(socket, 'data', 4);
    socket.write(connectPacket(clientId));
    expect(await connack).toEqual([0x20, 0x02, 0x00, 0x00]);
    return { socket, closing };
  }

  describe('retained messages', () => {
    const retained = { maxBytes: 64, perRobot: 2, total: 3 };

    it('keeps a robot’s retained message within the limits', async () => {
      await start({ retained });
      const seen = await record('tonypi/#');
      const r = await client('tonypi_r');
      await r.publishAsync('tonypi/tonypi_r/status', '{"status":"online"}', { qos: 1, retain: true });
      await waitFor(() => seen.length === 1, 5000, 'delivery');
      expect(await retainedTopics()).toEqual(['tonypi/tonypi_r/status']);
      expect(broker.retainedMessages).toBe(1);
    });

    it('delivers an over-size retained message as a plain one, does not keep it, and counts it', async () => {
      await start({ retained });
      const seen = await record('tonypi/#');
      const r = await client('tonypi_r');
      const big = `{"status":"online","pad":"${'x'.repeat(64)}"}`;
      await r.publishAsync('tonypi/tonypi_r/status', big, { qos: 1, retain: true });
      await waitFor(() => seen.length === 1, 5000, 'delivery');
      expect(seen[0]?.payload).toBe(big);
      expect(await retainedTopics()).toEqual([]);
      expect(broker.limitRefusals()).toMatchObject({ retained_too_large: 1 });
      // The connection stays up: a robot is not pushed into a reconnect loop.
      expect(r.connected).toBe(true);
    });

    it('refuses retention beyond the per-robot and the total count, and frees a slot on clearing', async () => {
      await start({ retained });
      const seen = await record('tonypi/#');
      const r1 = await client('tonypi_r1');
      const r2 = await client('tonypi_r2');
      const keep = (c: mqtt.MqttClient, topic: string, payload = '{"status":"online"}') =>
        c.publishAsync(topic, payload, { qos: 1, retain: true });
      await keep(r1, 'tonypi/tonypi_r1/status');
      await keep(r1, 'tonypi/status/tonypi_r1');
      await keep(r1, 'tonypi/tonypi_r1/job', '{"status":"working"}');
      await keep(r2, 'tonypi/tonypi_r2/status');
      await keep(r2, 'tonypi/tonypi_r2/job', '{"status":"working"}');
      await waitFor(() => seen.length === 5, 5000, 'deliveries');
      expect(await retainedTopics()).toEqual([
        'tonypi/status/tonypi_r1',
        'tonypi/tonypi_r1/status',
        'tonypi/tonypi_r2/status',
      ]);
      expect(broker.limitRefusals()).toMatchObject({ retained_robot_limit: 1, retained_total_limit: 1 });

      await keep(r1, 'tonypi/status/tonypi_r1', '');
      await keep(r2, 'tonypi/tonypi_r2/job', '{"status":"working"}');
      await waitFor(() => seen.length === 7, 5000, 'deliveries');
      expect(await retainedTopics()).toEqual([
        'tonypi/tonypi_r1/status',
        'tonypi/tonypi_r2/job',
        'tonypi/tonypi_r2/status',
      ]);
    });

    it('does not keep a retained message a client leaves on another robot’s topic', async () => {
      await start({ retained });
      const seen = await record('tonypi/#');
      const intruder = await client('intruder');
      await intruder.publishAsync('tonypi/tonypi_r/status', '{"status":"maintenance"}', {
        qos: 1,
        retain: true,
      });
      await waitFor(() => seen.length === 1, 5000, 'delivery');
      expect(await retainedTopics()).toEqual([]);
      expect(broker.limitRefusals()).toMatchObject({ retained_not_owner: 1 });
    });

    /** The retained messages a new subscription to `filters` is sent (they come first, with the retain flag). */
    async function retainedFor(filters: string[]): Promise<string[]> {
      const c = await client(`sub_${Math.random().toString(36).slice(2, 8)}`);
      const got: string[] = [];
      c.on('message', (topic, payload, packet) => {
        if (packet.retain) got.push(`${topic} ${payload.toString()}`);
      });
      await c.subscribeAsync(filters.map((f) => f));
      // A marker published after the subscription arrives after every retained message.
      await c.subscribeAsync('marker/#');
      const marker = new Promise<void>((resolve) =>
        c.on('message', (t) => t.startsWith('marker/') && resolve()),
      );
      await c.publishAsync(`marker/${c.options.clientId}`, 'x', { qos: 1 });
      await marker;
      return got.sort();
    }

    it('sends a new subscription the retained messages its exact and wildcard filters match, each once', async () => {
      await start({ retained: { maxBytes: 64, perRobot: 4, total: 10 } });
      const r1 = await client('tonypi_r1');
      await r1.publishAsync('tonypi/tonypi_r1/status', 'online', { qos: 1, retain: true });
      await r1.publishAsync('tonypi/tonypi_r1/job', 'idle', { qos: 1, retain: true });
      const r2 = await client('tonypi_r2');
      await r2.publishAsync('tonypi/tonypi_r2/status', 'charging', { qos: 1, retain: true });
      expect(await retainedFor(['tonypi/tonypi_r1/status'])).toEqual(['tonypi/tonypi_r1/status online']);
      expect(await retainedFor(['tonypi/+/status', 'tonypi/tonypi_r1/#'])).toEqual([
        'tonypi/tonypi_r1/job idle',
        'tonypi/tonypi_r1/status online',
        'tonypi/tonypi_r2/status charging',
      ]);
      expect(await retainedFor(['tonypi/nobody/status'])).toEqual([]);
      // Cleared (an empty retained payload): no longer sent.
      await r1.publishAsync('tonypi/tonypi_r1/status', '', { qos: 1, retain: true });
      expect(await retainedFor(['tonypi/+/status'])).toEqual(['tonypi/tonypi_r2/status charging']);
      expect(broker.retainedMessages).toBe(2);
    });

    it('matches + to an empty level for retained messages as it does for live ones (MQTT-4.7.1-3)', async () => {
      await start({ retained: { maxBytes: 64, perRobot: 4, total: 10 } });
      const live = await record('tonypi/+/status');
      const c = await client('legacy_client');
      await c.publishAsync('tonypi//status', 'empty level', { qos: 1, retain: true });
      await waitFor(() => live.length === 1, 5000, 'live delivery');
      expect(await retainedFor(['tonypi/+/status'])).toEqual(['tonypi//status empty level']);
    });
  });

  describe('persistent sessions', () => {
    it('delivers a QoS 1 message queued while a robot was away when it reconnects to its session', async () => {
      await start();
      const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        clientId: 'tonypi_away',
        clean: false,
        reconnectPeriod: 0,
      });
      await first.subscribeAsync('tonypi/tonypi_away/command', { qos: 1 });
      await first.endAsync();
      await new Promise<void>((resolve) =>
        broker.aedes.publish(
          {
            cmd: 'publish',
            topic: 'tonypi/tonypi_away/command',
            payload: Buffer.from('{"type":"stop"}'),
            qos: 1,
            retain: false,
            dup: false,
          },
          () => resolve(),
        ),
      );
      const again = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, {
        clientId: 'tonypi_away',
        clean: false,
        reconnectPeriod: 0,
      });
      cleanups.push(() => again.endAsync(true));
      const received = await new Promise<string[]>((resolve) =>
        again.once('message', (topic, payload) => resolve([topic, payload.toString()])),
      );
      expect(received).toEqual(['tonypi/tonypi_away/command', '{"type":"stop"}']);
    });
  });

  describe('connections per address', () => {
    it('refuses the CONNECT beyond the limit with "server unavailable", on TCP and WebSocket, counted', async () => {
      await start({ maxConnectionsPerAddress: 2 });
      const first = await client('c1');
      const overWs = await client('c2', {}, `ws://127.0.0.1:${broker.wsPort}`);
      await expect(client('c3')).rejects.toMatchObject({ code: 3 });
      await expect(client('c4', {}, `ws://127.0.0.1:${broker.wsPort}`)).rejects.toMatchObject({ code: 3 });
      expect(broker.limitRefusals()).toMatchObject({ connections_per_address: 2 });

      // A closed connection frees its place.
      await first.endAsync();
      await waitFor(() => broker.connectedClients === 1, 5000, 'first client gone');
      const again = await waitFor(
        async () => client('c5').catch(() => undefined),
        5000,
        'a connection once one is free',
      );
      expect(again.connected).toBe(true);
      await overWs.endAsync();
      await waitFor(() => broker.connectedClients === 1, 5000, 'WebSocket client gone');
      const overWsAgain = await waitFor(
        async () => client('c6', {}, `ws://127.0.0.1:${broker.wsPort}`).catch(() => undefined),
        5000,
        'a WebSocket connection once one is free',
      );
      expect(overWsAgain.connected).toBe(true);
    });

    it('closes at once, without a CONNACK, a socket beyond twice the limit', async () => {
      await start({ maxConnectionsPerAddress: 1 });
      await client('c1');
      const refused = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
          clientId: 'c2',
          reconnectPeriod: 0,
        })
        .catch((err: { code?: number }) => err);
      expect(refused).toMatchObject({ code: 3 });
      const socket = net.connect(broker.port, '127.0.0.1');
      cleanups.push(() => socket.destroy());
      socket.on('error', () => undefined);
      const closing = once(socket, 'close');
      // Two more open at once: the first of them is over the limit, the second over twice the limit.
      const other = net.connect(broker.port, '127.0.0.1');
      cleanups.push(() => other.destroy());
      other.on('error', () => undefined);
      expect(await closedOrStillOpen(Promise.race([closing, once(other, 'close')]))).toBe('closed');
    });
  });

  describe('malformed strings', () => {
    it('closes the connection of a PUBLISH whose topic is not valid UTF-8, and delivers nothing', async () => {
      await start();
      const seen = await record('tonypi/#');
      const { socket, closing } = await rawClient('tonypi_u');
      socket.write(
        rawPublish(Buffer.from([...Buffer.from('tonypi/'), 0xff, 0xfe, ...Buffer.from('/status')])),
      );
      expect(await closedOrStillOpen(closing)).toBe('closed');
      expect(broker.limitRefusals()).toMatchObject({ malformed_string: 1 });

      const marker = await client('tonypi_m');
      await marker.publishAsync('tonypi/tonypi_m/status', '{"status":"online"}', { qos: 1 });
      await waitFor(() => seen.length > 0, 5000, 'marker');
      expect(seen.map((s) => s.topic)).toEqual(['tonypi/tonypi_m/status']);
    });

    it('closes the connection of a topic with U+0000, and of a CONNECT with a malformed client id', async () => {
      await start();
      const { socket, closing } = await rawClient('tonypi_n');
      socket.write(rawPublish(Buffer.from('tonypi/a\u0000b/status')));
      expect(await closedOrStillOpen(closing)).toBe('closed');

      const raw = net.connect(broker.port, '127.0.0.1');
      cleanups.push(() => raw.destroy());
      raw.on('error', () => undefined);
      const rawClosing = once(raw, 'close');
      const replies: number[] = [];
      raw.on('data', (chunk: Buffer) => replies.push(...chunk));
      await once(raw, 'connect');
      raw.write(connectPacket(Buffer.from([0x74, 0xc3, 0x28])));
      expect(await closedOrStillOpen(rawClosing)).toBe('closed');
      expect(replies).toEqual([]);
      expect(broker.limitRefusals()).toMatchObject({ malformed_string: 2 });
    });

    it('refuses a correctly encoded U+FFFD as well: after decoding it cannot be told from invalid bytes', async () => {
      await start();
      const { socket, closing } = await rawClient('tonypi_v');
      socket.write(rawPublish(Buffer.from('tonypi/\uFFFD/status')));
      expect(await closedOrStillOpen(closing)).toBe('closed');
      expect(broker.limitRefusals()).toMatchObject({ malformed_string: 1 });
    });

    it('closes the connection of a SUBSCRIBE with such a topic filter', async () => {
      await start();
      const c = await client('tonypi_s');
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.subscribe('tonypi/\uFFFD/#');
      await closed;
      expect(broker.limitRefusals()).toMatchObject({ malformed_string: 1 });
    });
  });

  describe('session takeover', () => {
    const will = (id: string) => ({
      topic: `tonypi/${id}/status`,
      payload: Buffer.from('{"status":"offline"}'),
      qos: 1 as const,
      retain: true,
    });

    it('drops the Last Will of a session another connection with the same client id took over', async () => {
      await start();
      const seen = await record('tonypi/+/status');
      const robot = await client('tonypi_t', { will: will('tonypi_t') });
      const robotClosed = new Promise<void>((resolve) => robot.once('close', () => resolve()));
      const second = await client('tonypi_t', { will: will('tonypi_t') });
      await robotClosed;
      await second.publishAsync('tonypi/tonypi_t/status', '{"status":"online"}', { qos: 1 });
      await waitFor(() => seen.length > 0, 5000, 'marker');
      expect(seen.map((s) => s.payload)).toEqual(['{"status":"online"}']);
      expect(broker.limitRefusals()).toMatchObject({ takeover_will_dropped: 1 });

      // The session that is still the newest publishes its will when its connection dies.
      second.stream.destroy();
      await waitFor(() => seen.length === 2, 5000, 'will');
      expect(seen[1]).toEqual({
        topic: 'tonypi/tonypi_t/status',
        payload: '{"status":"offline"}',
        clientId: 'tonypi_t',
      });
    });
  });
});
