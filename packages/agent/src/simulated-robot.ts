import type { Socket } from 'node:net';
import { type RobotProtocol, topics } from '@tonypi/contracts';
import { connect, type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { createCanonicalProtocol } from './canonical-protocol';
import { type ExecutionPlan, executeCommand } from './command-executor';
import { createLegacyProtocol } from './legacy-protocol';
import { ReconnectBackoff } from './reconnect-backoff';
import { type AppliedConfig, readConfig } from './robot-config';
import { RobotModel, type RobotModelOptions } from './robot-model';
import type { ModelEvent } from './robot-readings';
import type { OutboundMessage, Publish, QoS, RobotCommand, WireProtocol } from './wire-protocol';

export const AGENT_VERSION = '0.1.0';
const SIM_IP = '127.0.0.1';
const KEEPALIVE_S = 10;
/** Above this much unsent data the link is congested: telemetry is dropped (and counted), not queued. */
const MAX_BUFFERED_BYTES = 1 << 20;
const STOP_TIMEOUT_MS = 3000;

export interface AgentLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

/** Counters shared by every robot of a fleet (plain increments: cheaper than events). */
export interface FleetCounters {
  /** MQTT messages handed to the socket. */
  published: number;
  /** Telemetry samples sent (one bundle canonical, one set of per-reading messages legacy). */
  telemetry: number;
  /** Telemetry samples not sent: link down or congested. */
  dropped: number;
  /** Command messages received (valid or not). */
  commands: number;
  /** Successful reconnections after a lost link. */
  reconnects: number;
}

export function createCounters(): FleetCounters {
  return { published: 0, telemetry: 0, dropped: 0, commands: 0, reconnects: 0 };
}

/** Opens a robot's MQTT connection: mqtt.js's `connect`; tests pass a fake. */
export type MqttConnect = (brokerUrl: string, opts: IClientOptions) => MqttClient;

export interface SimulatedRobotOptions {
  id: string;
  brokerUrl: string;
  protocol: RobotProtocol;
  seed: number;
  faults: boolean;
  autonomy?: boolean;
  username?: string;
  password?: string;
  logger: AgentLogger;
  counters: FleetCounters;
  connect?: MqttConnect;
  /** The `camera_url` it reports (default: mjpg-streamer's port on its address, where nothing listens). */
  cameraUrl?: string;
  /** Overrides for the model (initial charge, start pose). */
  model?: Partial<Omit<RobotModelOptions, 'id' | 'seed' | 'faults' | 'autonomy'>>;
}

const PUBLISH_OPTIONS: Record<`${QoS}${boolean}`, IClientPublishOptions> = {
  '0false': { qos: 0, retain: false },
  '0true': { qos: 0, retain: true },
  '1false': { qos: 1, retain: false },
  '1true': { qos: 1, retain: true },
};

/**
 * One simulated robot: its model, one MQTT connection (client id = robot id) and the protocol it
 * speaks. The fleet's scheduler calls `tick`; everything else (commands, reconnects) is driven by
 * the connection.
 */
export class SimulatedRobot {
  readonly id: string;
  readonly model: RobotModel;
  readonly protocol: WireProtocol;
  private client: MqttClient | null = null;
  private readonly backoff = new ReconnectBackoff();
  private readonly pending = new Set<NodeJS.Timeout>();
  private lastTickMs: number | null = null;
  private nextStatusAt = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;
  private errorLogged = false;
  private lastError: string | null = null;
  /** The configuration the server sent last (canonical protocol); null = none. */
  private config: AppliedConfig | null = null;
  private nextTelemetryAt = 0;

  constructor(private readonly opts: SimulatedRobotOptions) {
    this.id = opts.id;
    this.model = new RobotModel({
      ...opts.model,
      id: opts.id,
      seed: opts.seed,
      faults: opts.faults,
      autonomy: opts.autonomy ?? true,
    });
    const identity = {
      robot_id: opts.id,
      agent_version: AGENT_VERSION,
      ip_address: SIM_IP,
      camera_url: opts.cameraUrl ?? `http://${SIM_IP}:8081/?action=stream`,
    };
    this.protocol =
      opts.protocol === 'legacy' ? createLegacyProtocol(identity) : createCanonicalProtocol(identity);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Connects; resolves on the first successful connection, rejects after `timeoutMs`. */
  start(timeoutMs = 10_000): Promise<void> {
    if (this.state !== 'new') throw new Error(`${this.id} was already started`);
    this.state = 'running';
    const { opts, protocol } = this;
    const legacy = protocol.name === 'legacy';
    const will = protocol.lastWill(Date.now());
    const client = (opts.connect ?? connect)(opts.brokerUrl, {
      clientId: this.id,
      keepalive: KEEPALIVE_S,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: this.backoff.next(),
      connectTimeout: 10_000,
      // A robot that is offline has nothing to say later: stale telemetry is dropped, not queued.
      queueQoSZero: false,
      resubscribe: false,
      // mqtt.js calls its debug logger several times per publish; a no-op saves ~5 % at high rates.
      log: () => undefined,
      ...(will ? { will } : {}),
      // The seed client has no credentials; the legacy protocol is that client.
      ...(!legacy && opts.username !== undefined ? { username: opts.username } : {}),
      ...(!legacy && opts.password !== undefined ? { password: opts.password } : {}),
    });
    this.client = client;

    // mqtt.js reconnects at a fixed period; ours backs off. The library arms its timer from its own
    // 'close' listener, so ours must run first to set the period it will read.
    client.prependListener('close', () => {
      client.options.reconnectPeriod = this.backoff.next();
    });
    client.on('reconnect', () => {
      // The Last Will's timestamp should be the time of the connection it guards.
      const fresh = protocol.lastWill(Date.now());
      if (fresh) client.options.will = fresh;
    });
    client.on('offline', () => {
      if (this.state === 'running') opts.logger.warn({ robot_id: this.id }, 'robot link lost, reconnecting');
    });
    client.on('error', (err) => {
      this.lastError = err.message;
      if (this.errorLogged) return;
      this.errorLogged = true;
      opts.logger.warn({ robot_id: this.id, err: err.message }, 'robot mqtt error');
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));

    let first = true;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const why = this.lastError ? ` (last error: ${this.lastError})` : '';
        reject(new Error(`${this.id}: could not connect to ${opts.brokerUrl} within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      client.on('connect', () => {
        this.backoff.reset();
        this.errorLogged = false;
        // Telemetry is many small writes: without TCP_NODELAY Nagle holds them back (DESIGN §5a).
        (client.stream as Partial<Socket>).setNoDelay?.(true);
        client.subscribe(protocol.subscriptions(), (err) => {
          if (err)
            opts.logger.warn(
              { robot_id: this.id, err: err.message },
              'robot could not subscribe to commands',
            );
        });
        this.publishStatus();
        // A full sample right away: a robot never shows online without values, whatever its phase
        // in the fleet's tick schedule.
        if (this.state === 'running') {
          this.protocol.telemetry(this.model, Date.now(), this.publish);
          opts.counters.telemetry++;
        }
        if (first) {
          first = false;
          clearTimeout(timer);
          opts.logger.info({ robot_id: this.id, protocol: protocol.name }, 'robot online');
          resolve();
        } else {
          opts.counters.reconnects++;
          opts.logger.info({ robot_id: this.id }, 'robot reconnected');
        }
      });
    });
  }

  /** Advances the model to `nowMs` (monotonic) and publishes a sample stamped `epochMs`. */
  tick(nowMs: number, epochMs: number): void {
    if (this.state !== 'running') return;
    const dt = this.lastTickMs === null ? 0 : (nowMs - this.lastTickMs) / 1000;
    this.lastTickMs = nowMs;
    if (dt > 0) this.model.step(dt);
    const events = this.model.drainEvents();
    const writable = this.writable();
    if (writable) {
      if (this.telemetryDue(epochMs)) {
        this.protocol.telemetry(this.model, epochMs, this.publish);
        this.opts.counters.telemetry++;
      }
      const refresh = this.protocol.statusRefreshMs;
      if (refresh !== null && epochMs >= this.nextStatusAt) this.publishStatus(epochMs);
    } else {
      this.opts.counters.dropped++;
    }
    for (const e of events) this.onModelEvent(e, epochMs, writable);
  }

  /** The configuration it applies (tests read it). */
  get appliedConfig(): AppliedConfig | null {
    return this.config;
  }

  /** Whether this tick publishes telemetry: always, unless the config asks for a lower rate than the fleet's. */
  private telemetryDue(epochMs: number): boolean {
    const interval = this.config?.telemetryIntervalMs ?? null;
    if (interval === null) return true;
    if (epochMs < this.nextTelemetryAt) return false;
    // At most the configured rate: samples are at least one interval apart (a late tick delays the next one).
    this.nextTelemetryAt = epochMs + interval;
    return true;
  }

  /** A configuration from the server: applied and reported in the robot's log, or refused there. */
  private applyConfig(payload: Buffer): void {
    // An empty retained message clears the retained config: nothing to apply.
    if (payload.length === 0) return;
    const read = readConfig(payload);
    const ts = Date.now();
    if (!read.ok) {
      this.opts.logger.warn({ robot_id: this.id, reason: read.message }, 'config not applied');
      this.send(
        this.protocol.event(
          { kind: 'log', level: 'warning', message: read.message, source: 'config' },
          this.model,
          ts,
        ),
      );
      return;
    }
    this.config = read.config;
    this.nextTelemetryAt = 0;
    const interval = read.config.telemetryIntervalMs;
    const rate = interval === null ? 'the fleet rate' : `${Math.round((1000 / interval) * 1000) / 1000} Hz`;
    const message = `config version ${read.config.version} applied: telemetry at ${rate}`;
    this.opts.logger.info({ robot_id: this.id, version: read.config.version }, 'config applied');
    this.send(this.protocol.event({ kind: 'log', level: 'info', message, source: 'config' }, this.model, ts));
  }

  /** A fault: kill the socket without a DISCONNECT, so the broker publishes the Last Will. */
  dropConnection(): void {
    const stream = this.client?.stream;
    if (this.connected && stream) stream.destroy();
  }

  /** Clean exit: offline status, then DISCONNECT (no Last Will). */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopped';
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      const off = this.protocol.status(this.model, 'offline', Date.now());
      await withTimeout(
        client.publishAsync(off.topic, off.payload, PUBLISH_OPTIONS[`${off.qos}${off.retain}`]),
      )
        .then(() => this.opts.counters.published++)
        .catch(() => undefined);
      await withTimeout(client.endAsync()).catch(() => client.end(true));
    } else {
      await withTimeout(client.endAsync(true)).catch(() => undefined);
    }
  }

  private readonly publish: Publish = (topic, payload, qos, retain) => {
    this.client!.publish(topic, payload, PUBLISH_OPTIONS[`${qos}${retain}`]);
    this.opts.counters.published++;
  };

  private send(m: OutboundMessage | null | undefined): void {
    if (m && this.connected) this.publish(m.topic, m.payload, m.qos, m.retain);
  }

  private writable(): boolean {
    const client = this.client;
    if (!client?.connected) return false;
    return ((client.stream as Partial<Socket>).writableLength ?? 0) < MAX_BUFFERED_BYTES;
  }

  private publishStatus(ts = Date.now()): void {
    const status = this.model.emergency ? 'emergency_stopped' : 'online';
    this.send(this.protocol.status(this.model, status, ts));
    if (this.protocol.statusRefreshMs !== null) this.nextStatusAt = ts + this.protocol.statusRefreshMs;
  }

  private onModelEvent(e: ModelEvent, ts: number, writable: boolean): void {
    if (e.kind === 'disconnect') {
      if (!this.connected) return;
      this.opts.logger.warn({ robot_id: this.id }, 'simulated fault: dropping the connection');
      this.dropConnection();
      return;
    }
    if (writable) this.send(this.protocol.event(e, this.model, ts));
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (this.state !== 'running') return;
    try {
      if (topic === topics.config(this.id)) this.applyConfig(payload);
      else this.handleCommand(topic, payload);
    } catch (err) {
      // A command must never take the agent down.
      this.opts.logger.warn(
        { robot_id: this.id, topic, err: (err as Error).message },
        'command handling failed',
      );
    }
  }

  private handleCommand(topic: string, payload: Buffer): void {
    const decoded = this.protocol.decodeCommand(topic, payload);
    if (!decoded) return;
    this.opts.counters.commands++;
    const ts = Date.now();
    if (!decoded.ok) {
      this.opts.logger.warn({ robot_id: this.id, topic, reason: decoded.message }, 'invalid command');
      this.send(
        this.protocol.finished(decoded, { ok: false, message: `invalid command: ${decoded.message}` }, ts),
      );
      return;
    }
    const cmd = decoded.command;
    this.send(this.protocol.accepted(cmd, ts));
    let plan: ExecutionPlan;
    try {
      plan = executeCommand(this.model, cmd);
    } catch (err) {
      plan = { ok: false, message: `internal error: ${(err as Error).message}` };
    }
    if (!plan.ok) {
      this.send(this.protocol.finished(cmd, { ok: false, message: plan.message }, ts));
      return;
    }
    if (plan.followUp === 'publish_status') this.publishStatus(ts);
    else if (plan.followUp === 'publish_battery') this.send(this.protocol.battery(this.model, ts));
    this.finishLater(cmd, plan);
  }

  private finishLater(cmd: RobotCommand, plan: Extract<ExecutionPlan, { ok: true }>): void {
    const epoch = this.model.motionEpoch;
    const finish = (): void => {
      if (this.state !== 'running') return;
      const interrupted = plan.interruptible === true && this.model.motionEpoch !== epoch;
      const outcome = interrupted
        ? { ok: false, message: `${cmd.type} interrupted: the robot was stopped or sent elsewhere` }
        : { ok: true, message: plan.message, ...(plan.result === undefined ? {} : { result: plan.result }) };
      this.send(this.protocol.finished(cmd, outcome, Date.now()));
      if (plan.followUp === 'reboot') {
        // The agent restarts: the link drops (the Last Will, where there is one) and comes back.
        this.opts.logger.info({ robot_id: this.id }, 'robot rebooting on command');
        this.dropConnection();
      }
      if (plan.followUp === 'shutdown') {
        this.opts.logger.info({ robot_id: this.id }, 'robot shutting down on command');
        void this.stop();
      }
    };
    if (plan.duration_s <= 0) {
      finish();
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      finish();
    }, plan.duration_s * 1000);
    this.pending.add(timer);
  }
}

function withTimeout<T>(p: Promise<T>, ms = STOP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
