import type { Config } from '../config';
import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { redactUrl } from '../logger';
import { publicHost } from '../public-host';
import type { BrokerRefusal } from './broker-refusals';
import { EmbeddedBroker } from './embedded-broker';
import { EmbeddedBus, ExternalBus, type MessageBus } from './message-bus';
import { loadMqttClientId } from './mqtt-client-id';
import { robotAuth } from './robot-auth';

declare module '../core/module' {
  interface Services {
    /** The server's side of MQTT: the ingest subscription, and what commands publish through. */
    bus: MessageBus;
    /** The embedded broker; undefined with MQTT_URL. */
    broker: EmbeddedBroker | undefined;
    /** Where robots connect. */
    mqttEndpoint: MqttEndpoint;
  }
}

export interface MqttEndpoint {
  /** mqtt://host:port robots connect to (the embedded broker, or MQTT_URL). */
  url: string;
  /** MQTT over WebSocket (the embedded broker only). */
  wsUrl?: string;
}

/**
 * The embedded broker, or a client of MQTT_URL's, and the ingest's subscription. Messages flow from the
 * moment this module is created (as robots reconnect they publish at once): every domain that must see
 * every message subscribes to the event bus in a module listed before this one.
 */
export const brokerModule = defineModule({
  name: 'broker',
  async create(ctx) {
    const { config, logger } = ctx;
    const pipeline = ctx.get('pipeline');
    const stops: Array<() => Promise<void>> = [];
    const stop = async () => {
      for (const step of stops.splice(0)) {
        try {
          await step();
        } catch (err) {
          logger.error({ err }, 'error during shutdown');
        }
      }
    };
    let bus: MessageBus;
    let broker: EmbeddedBroker | undefined;
    let endpoint: MqttEndpoint;
    if (config.mqtt.url) {
      bus = await ExternalBus.connect({
        url: config.mqtt.url,
        username: config.mqtt.username,
        password: config.mqtt.password,
        sharedGroup: config.mqtt.sharedGroup === 'off' ? undefined : config.mqtt.sharedGroup,
        clientId: await loadMqttClientId(config.mqtt.clientId, config.dataDir),
        sessionExpiryS: config.mqtt.sessionExpiryS,
        logger,
      });
      endpoint = { url: config.mqtt.url };
    } else {
      const events = ctx.get('events');
      broker = await EmbeddedBroker.start({
        // What a robot was refused, for its diagnostics (the refusals themselves are counted and logged).
        onRefusal: (reason, d) => {
          if (!ACL_REFUSALS.has(reason) || !events.hasSubscribers('broker.refused')) return;
          const client = d.robot ?? d.client;
          events.publish('broker.refused', {
            reason,
            client_id: typeof client === 'string' ? client : undefined,
            topic: typeof (d.topic ?? d.filter) === 'string' ? String(d.topic ?? d.filter) : undefined,
            refusal: typeof d.refusal === 'string' ? d.refusal : undefined,
            at: Date.now(),
          });
        },
        ...config.mqtt.embedded,
        auth: robotAuth({
          access: ctx.get('robotCredentials'),
          allowAnonymous: config.robots.allowAnonymous,
        }),
        logger,
      });
      bus = new EmbeddedBus(broker.aedes);
      const host = publicHost(config.mqtt.embedded.host);
      endpoint = { url: `mqtt://${host}:${broker.port}`, wsUrl: `ws://${host}:${broker.wsPort}` };
    }
    // The shutdown path of messages, in this order: the broker refuses new publishes (unacknowledged, the
    // robots send them again) and delivers the ones it accepted; the bus unsubscribes; the broker closes.
    // Then the ingest, listed before this module and so stopped after it, writes everything: nothing arrives
    // after its last flush.
    const b = broker;
    if (b) {
      stops.push(async () => {
        const undelivered = await b.stopIntake();
        if (undelivered > 0) logger.warn({ undelivered }, 'mqtt publishes not delivered before shutdown');
      });
    }
    stops.push(() => bus.close());
    if (b) stops.push(() => b.close());
    try {
      await bus.subscribeIngest(pipeline.handle);
    } catch (err) {
      await stop();
      throw err;
    }
    return {
      provides: { bus, broker, mqttEndpoint: endpoint },
      stop,
      status: {
        components: () => ({
          broker: {
            status: bus.isConnected() ? 'up' : 'down',
            kind: bus.kind === 'embedded' ? 'aedes (embedded)' : redactUrl(endpoint.url),
            clients: broker?.connectedClients,
            retained_messages: broker?.retainedMessages,
            refused: broker?.limitRefusals(),
          },
        }),
        warnings: () => anonymousWarnings(config),
        metrics: brokerMetrics(broker),
      },
    };
  },
});

/** The refusals that are a robot's ACL denials. */
const ACL_REFUSALS = new Set<BrokerRefusal>(['acl_denied', 'subscribe_denied', 'auth_refused']);

function anonymousWarnings(config: Readonly<Config>): string[] {
  return config.robots.allowAnonymous
    ? ['Robots without credentials are accepted (ALLOW_ANONYMOUS_ROBOTS=true).']
    : [];
}

export function brokerMetrics(broker: EmbeddedBroker | undefined): Sampled[] {
  return [
    {
      name: 'tonypi_mqtt_clients',
      help: 'Connected MQTT clients (embedded broker)',
      type: 'gauge',
      read: () => broker?.connectedClients ?? 0,
    },
    {
      name: 'tonypi_mqtt_limit_refusals_total',
      help: 'What the embedded broker limits refused (connections per address, retained messages, malformed strings), by reason',
      type: 'counter',
      labelNames: ['reason'],
      read: () =>
        Object.entries(broker?.limitRefusals() ?? {}).map(([reason, value]) => ({
          labels: { reason },
          value,
        })),
    },
    {
      name: 'tonypi_mqtt_retained_messages',
      help: 'Retained messages clients hold in the embedded broker',
      type: 'gauge',
      read: () => broker?.retainedMessages ?? 0,
    },
    {
      name: 'tonypi_mqtt_packets_refused_total',
      help: 'MQTT connections closed for a packet over the size limit (embedded broker)',
      type: 'counter',
      read: () => broker?.packetsRefused ?? 0,
    },
  ];
}
