import { INGEST_SUBSCRIPTIONS } from '@tonypi/contracts';
import type { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { type Logger, redactUrl } from '../logger';
import { StartupError } from '../startup-error';

/** What the receiving server does with a message; see IngestPipeline.handle. */
export type IngestRole = 'all' | 'store' | 'observe';
/**
 * `identity`: the robot that published the message, when the broker tells (the embedded broker does: a
 * client's identity is its client id, which for a robot with credentials is its username; an external
 * broker's subscribers do not learn it: the ACL there comes with the production setup). `own`: this server
 * published it itself (the embedded broker tells: an in-process publish has no client).
 */
export type MessageHandler = (
  topic: string,
  payload: Buffer,
  role: IngestRole,
  identity?: string,
  own?: boolean,
) => void;

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

/** The server's side of MQTT: what ingest reads and what commands publish through. */
export interface MessageBus {
  readonly kind: 'embedded' | 'external';
  /** Starts delivering robot messages (both topic layouts) to `handler`, which must not block. */
  subscribeIngest(handler: MessageHandler): Promise<void>;
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void>;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Subscribes inside the embedded broker: no socket, no second MQTT encode/decode. */
export class EmbeddedBus implements MessageBus {
  readonly kind = 'embedded';
  private readonly unsubscribers: Array<() => Promise<void>> = [];

  constructor(private readonly aedes: Aedes) {}

  async subscribeIngest(handler: MessageHandler): Promise<void> {
    for (const topic of INGEST_SUBSCRIPTIONS) {
      // Aedes stamps a client's publish (and its Last Will) with the client's id, its identity (robot-auth.ts);
      // the server's own (commands, answers to scans, configs) have none.
      const deliver = (
        packet: { topic: string; payload: Buffer | string; clientId?: string },
        cb: () => void,
      ) => {
        handler(
          packet.topic,
          typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
          'all',
          packet.clientId,
          packet.clientId === undefined,
        );
        cb();
      };
      await new Promise<void>((resolve) => this.aedes.subscribe(topic, deliver, resolve));
      this.unsubscribers.push(
        () => new Promise<void>((resolve) => this.aedes.unsubscribe(topic, deliver, resolve)),
      );
    }
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: opts.qos,
          retain: opts.retain ?? false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  isConnected(): boolean {
    return !this.aedes.closed;
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
  }
}

export interface ExternalBusOptions {
  url: string;
  username?: string;
  password?: string;
  /** MQTT shared-subscription group so several servers split the ingest; undefined = plain subscription. */
  sharedGroup?: string;
  /** Fixed per instance: the broker keeps this id's session while the server is away (mqtt-client-id.ts). */
  clientId: string;
  /** How long the broker keeps the session after a disconnect; 0 = a clean session each time. */
  sessionExpiryS?: number;
  logger: Logger;
}

/** Messages a persistent session delivers before the ingest's handler is attached, kept for it (bounded). */
const EARLY_MESSAGES_MAX = 100_000;

/**
 * A client of an external broker (Mosquitto, EMQX, HiveMQ). With a shared-subscription group,
 * several servers split the ingest: the group subscription hands each message to one of them to
 * store, and a second, plain subscription (its own connection, so the two cannot be told apart
 * wrongly) lets every server observe every message for its registry and live stream.
 */
export class ExternalBus implements MessageBus {
  readonly kind = 'external';

  private constructor(
    private readonly client: MqttClient,
    private readonly observer: MqttClient | undefined,
    private readonly opts: ExternalBusOptions,
  ) {}

  static async connect(opts: ExternalBusOptions): Promise<ExternalBus> {
    const client = await connectClient(opts, opts.clientId);
    let observer: MqttClient | undefined;
    if (opts.sharedGroup) {
      try {
        observer = await connectClient(opts, `${opts.clientId}-observe`);
      } catch (err) {
        await client.endAsync(true);
        throw err;
      }
    }
    return new ExternalBus(client, observer, opts);
  }

  async subscribeIngest(handler: MessageHandler): Promise<void> {
    const group = this.opts.sharedGroup;
    const subscribe = async (c: MqttClient, prefix: string, role: IngestRole) => {
      deliverTo(c, (topic, payload) => handler(topic, payload, role));
      await c.subscribeAsync(
        Object.fromEntries(INGEST_SUBSCRIPTIONS.map((t) => [prefix + t, { qos: 1 as const }])),
      );
    };
    if (group && this.observer) {
      await subscribe(this.client, `$share/${group}/`, 'store');
      await subscribe(this.observer, '', 'observe');
    } else {
      await subscribe(this.client, '', 'all');
    }
  }

  async publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  isConnected(): boolean {
    return this.client.connected && (this.observer?.connected ?? true);
  }

  async close(): Promise<void> {
    await Promise.all([this.client.endAsync(), this.observer?.endAsync()]);
  }
}

type Deliver = (topic: string, payload: Buffer) => void;
const deliverers = new WeakMap<MqttClient, (deliver: Deliver) => void>();

/** Hands the client's messages to `deliver`, first the ones that came before it was attached. */
function deliverTo(client: MqttClient, deliver: Deliver): void {
  deliverers.get(client)?.(deliver);
}

/**
 * A persistent session delivers what was queued for it right after CONNACK, before `subscribeIngest` runs,
 * and mqtt.js acknowledges each message as it arrives: so a listener is there from the start, and keeps
 * those messages (bounded) until the ingest's handler takes them.
 */
function holdEarlyMessages(client: MqttClient, logger: Logger): void {
  const early: Array<[string, Buffer]> = [];
  let target: Deliver | undefined;
  client.on('message', (topic, payload) => {
    if (target) target(topic, payload);
    else if (early.length < EARLY_MESSAGES_MAX) early.push([topic, payload]);
    else logger.warn({ topic }, 'mqtt message before the ingest started dropped');
  });
  deliverers.set(client, (deliver) => {
    target = deliver;
    for (const [topic, payload] of early.splice(0)) deliver(topic, payload);
  });
}

async function connectClient(opts: ExternalBusOptions, clientId: string): Promise<MqttClient> {
  const expiry = opts.sessionExpiryS ?? 0;
  const client = mqtt.connect(opts.url, {
    clientId,
    username: opts.username,
    password: opts.password,
    // A persistent session (MQTT 5: clean start off and an expiry interval): the broker keeps the
    // subscriptions and queues QoS 1 messages while the server is away, and hands them over on reconnect.
    clean: expiry === 0,
    ...(expiry > 0 ? { properties: { sessionExpiryInterval: expiry } } : {}),
    keepalive: 30,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    protocolVersion: 5,
  });
  holdEarlyMessages(client, opts.logger);
  client.on('connect', () => {
    // mqtt.js leaves Nagle on; at thousands of small messages a second it adds tens of ms.
    (client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  });
  client.on('error', (err) => opts.logger.warn({ err: err.message, clientId }, 'mqtt broker error'));
  client.on('offline', () =>
    opts.logger.warn({ url: redactUrl(opts.url), clientId }, 'mqtt broker unreachable'),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      reject(
        new StartupError(`Cannot reach the MQTT broker at ${redactUrl(opts.url)} (MQTT_URL) within 10 s`),
      );
    }, 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}
