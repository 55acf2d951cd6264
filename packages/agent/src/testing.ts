/**
 * What the tests of every package share (`@tonypi/agent/testing`; the agent sits below the server,
 * so both can import it). Not loaded by the agent or the server themselves.
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import type { MqttConnect } from './simulated-robot';

/**
 * Polls `check` until it returns a value (not undefined or false) and returns that value; throws
 * once `timeoutMs` has passed, naming `what` and the last error `check` threw. Wait for a marker or
 * a condition with it, never sleep a fixed time.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** What a FakeMqtt client was asked to publish. */
export interface FakePublish {
  clientId: string;
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/**
 * MQTT connections without a broker, for tests of the robots' schedule under fake timers: each
 * `connect` connects at once (in a microtask, no timer), subscriptions are granted, and every
 * publish is recorded in `published`, in order. `connected(id)` says whether a robot's link is up.
 */
export class FakeMqtt {
  readonly published: FakePublish[] = [];
  private readonly clients = new Map<string, FakeMqttClient>();

  readonly connect: MqttConnect = (_url, opts) => {
    const client = new FakeMqttClient(opts, this.published);
    this.clients.set(String(opts.clientId), client);
    return client as unknown as MqttClient;
  };

  connected(clientId: string): boolean {
    return this.clients.get(clientId)?.connected === true;
  }

  /** What `clientId` published on topics matching `topic`. */
  from(clientId: string, topic: RegExp = /./): FakePublish[] {
    return this.published.filter((p) => p.clientId === clientId && topic.test(p.topic));
  }
}

class FakeMqttClient extends EventEmitter {
  connected = false;
  readonly options: IClientOptions;
  readonly stream = {
    writableLength: 0,
    setNoDelay: () => undefined,
    destroy: () => this.drop(),
  };

  constructor(
    opts: IClientOptions,
    private readonly published: FakePublish[],
  ) {
    super();
    this.options = { ...opts };
    queueMicrotask(() => {
      this.connected = true;
      this.emit('connect');
    });
  }

  subscribe(
    subs: Record<string, { qos: number }>,
    cb?: (err: Error | null, granted: unknown[]) => void,
  ): this {
    const granted = Object.entries(subs).map(([topic, { qos }]) => ({ topic, qos }));
    queueMicrotask(() => cb?.(null, granted));
    return this;
  }

  publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = {}): this {
    this.published.push({
      clientId: String(this.options.clientId),
      topic,
      payload: payload.toString(),
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
    });
    return this;
  }

  async publishAsync(
    topic: string,
    payload: string | Buffer,
    opts: IClientPublishOptions = {},
  ): Promise<void> {
    this.publish(topic, payload, opts);
  }

  end(): this {
    this.drop();
    return this;
  }

  async endAsync(): Promise<void> {
    this.drop();
  }

  private drop(): void {
    if (!this.connected) return;
    this.connected = false;
    this.emit('close');
  }
}
