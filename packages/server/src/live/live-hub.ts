import {
  LIVE_CLOSE,
  LIVE_EVENT_CHANNEL,
  LIVE_RATES_HZ,
  type LiveChannel,
  type LiveEventType,
  type LiveServerEvents,
  type MeasurementName,
  type TelemetryPoint,
} from '@tonypi/contracts';
import type { Logger } from '../logger';

/** What the hub needs of a socket (the `ws` WebSocket fits). */
export interface LiveSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /**
   * Holds what `send` writes until as many `uncork` calls: the hub corks a client's socket at its first frame
   * and uncorks it once the code that sent it has run (process.nextTick), so the frames of one drain or one
   * burst of events reach the kernel in one write. Without it `ws` writes every frame at once: 20 clients
   * following a 100-robot fleet were ~14,000 writes a second, 17 % of the server's event loop.
   */
  cork?(): void;
  uncork?(): void;
}

export interface LiveHubOptions {
  /** Above this many queued bytes a client gets no telemetry frames until it catches up. */
  softBufferBytes?: number;
  /** Above this a client that cannot keep up even with events is disconnected (never an unbounded buffer). */
  hardBufferBytes?: number;
  now?: () => number;
  /** Where a frame that cannot be serialised is reported (at most once per DROP_LOG_INTERVAL_MS). */
  logger?: Logger;
}

interface Client {
  socket: LiveSocket;
  /** The robots followed by name; null = every robot (after subscribing to `*`). */
  robots: Set<string> | null;
  channels: Set<LiveChannel>;
  /** The measurements it gets; null = all. */
  measurements: Set<MeasurementName> | null;
  /** The robots (of those it follows) whose telemetry it gets; null = all. */
  telemetryRobots: Set<string> | null;
  /** Telemetry frames per second per series at most; null = LIVE_RATES_HZ. */
  hz: number | null;
  /** For a client below the hub's rates: the newest point of each series since its last turn. */
  held: Record<ThrottledKind, Map<string, Pending>>;
  /** The drain at which its next turn comes: at once after it subscribes, then every `ceil(rate / hz)`. */
  nextTurn: Record<ThrottledKind, number>;
  framesSent: number;
  framesSkipped: number;
  /** Its socket is corked until the next process.nextTick (write). */
  corked: boolean;
}

type ThrottledKind = 'location' | 'telemetry';

/** What a `subscribe` may change of a client's telemetry (LiveTelemetryFilter in contracts). */
export interface TelemetryFilter {
  telemetry_robots?: readonly string[] | undefined;
  measurements?: ReadonlyArray<MeasurementName | '*'> | undefined;
  telemetry_hz?: number | undefined;
}

interface Pending {
  point: TelemetryPoint;
  /** Serialised once at flush time, shared by every client; null: it cannot be (dropped, counted once). */
  frame?: string | null;
}

/** A frame that cannot be serialised is logged at most once per this interval (with the count since). */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Robots one client may follow by name (beyond that, `*`). */
export const MAX_ROBOTS_PER_CLIENT = 1000;

const TICK_MS = Math.round(1000 / LIVE_RATES_HZ.location);
const TELEMETRY_EVERY = Math.max(1, Math.round(LIVE_RATES_HZ.location / LIVE_RATES_HZ.telemetry));

/**
 * Fans live updates out to browsers. A client's subscription is a set of robots (or every robot)
 * and a set of channels; it gets an event when both match. Telemetry is latest-value: per robot and series only the
 * newest point waits to be sent, at 10 Hz (location at 20 Hz). Events (status, logs, jobs, scans,
 * alerts, commands) are sent at once and never dropped; a client too slow even for them is disconnected.
 */
export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly latestTelemetry = new Map<string, Pending>();
  private readonly latestLocation = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly drains: Record<ThrottledKind, number> = { location: 0, telemetry: 0 };
  private readonly soft: number;
  private readonly hard: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private dropLoggedAt = Number.NEGATIVE_INFINITY;
  private dropsNotLogged = 0;
  /** `frames_dropped`: frames that could not be serialised, so no client got them. */
  readonly counters = { frames_sent: 0, frames_skipped: 0, frames_dropped: 0, clients_dropped: 0 };

  constructor(opts: LiveHubOptions = {}) {
    this.soft = opts.softBufferBytes ?? 512 * 1024;
    this.hard = opts.hardBufferBytes ?? 8 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger;
  }

  start(): void {
    this.timer ??= setInterval(() => this.flush(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  add(socket: LiveSocket): Client {
    const client: Client = {
      socket,
      robots: new Set(),
      channels: new Set(),
      measurements: null,
      telemetryRobots: null,
      hz: null,
      held: { location: new Map(), telemetry: new Map() },
      nextTurn: { location: 0, telemetry: 0 },
      framesSent: 0,
      framesSkipped: 0,
      corked: false,
    };
    this.clients.add(client);
    return client;
  }

  remove(client: Client): void {
    this.clients.delete(client);
  }

  /**
   * Adds robots and channels to what a client gets. Once it has `*` (every robot), naming robots
   * does not narrow it. Returns false, changing nothing, when the client would follow more than
   * MAX_ROBOTS_PER_CLIENT robots by name. A filter's measurements or rate, when given, replace the
   * client's.
   */
  subscribe(
    client: Client,
    robots: readonly string[],
    channels: readonly LiveChannel[],
    filter: TelemetryFilter = {},
  ): boolean {
    if (robots.includes('*')) client.robots = null;
    else if (client.robots !== null) {
      const next = new Set([...client.robots, ...robots]);
      if (next.size > MAX_ROBOTS_PER_CLIENT) return false;
      client.robots = next;
    }
    for (const c of channels) client.channels.add(c);
    if (filter.measurements) {
      const all = filter.measurements.includes('*');
      client.measurements = all ? null : new Set(filter.measurements as MeasurementName[]);
    }
    if (filter.telemetry_robots) {
      const all = filter.telemetry_robots.includes('*');
      client.telemetryRobots = all ? null : new Set(filter.telemetry_robots);
    }
    // What it no longer wants is not sent on its next turn either.
    if (filter.measurements || filter.telemetry_robots)
      for (const held of Object.values(client.held))
        for (const [key, p] of held) if (!wants(client, p.point)) held.delete(key);
    if (filter.telemetry_hz !== undefined) client.hz = filter.telemetry_hz;
    // A page that just asked gets its first values at the next drain, not a turn later.
    client.nextTurn = { location: 0, telemetry: 0 };
    return true;
  }

  unsubscribe(client: Client, robots: readonly string[], channels: readonly LiveChannel[]): void {
    if (robots.includes('*')) {
      for (const c of channels) client.channels.delete(c);
      return;
    }
    if (client.robots) for (const r of robots) client.robots.delete(r);
  }

  describe(client: Client): LiveServerEvents['subscribed'] {
    return {
      robots: client.robots ? [...client.robots] : ['*'],
      channels: [...client.channels],
      telemetry_robots: client.telemetryRobots ? [...client.telemetryRobots] : ['*'],
      measurements: client.measurements ? [...client.measurements] : ['*'],
      telemetry_hz: client.hz,
    };
  }

  /** Latest-value: replaces whatever of the same series was waiting. Cheap: called per point. */
  telemetry(point: TelemetryPoint): void {
    if (this.clients.size === 0) return;
    const key = seriesKey(point);
    const target = point.measurement === 'location' ? this.latestLocation : this.latestTelemetry;
    // Points are never mutated after ingest, so keeping the reference is safe; serialise on flush.
    target.set(key, { point });
  }

  /** Sent at once to every subscribed client; never dropped (unless it cannot be serialised at all). */
  event<K extends Exclude<LiveEventType, 'telemetry'>>(type: K, body: LiveServerEvents[K]): void {
    if (this.clients.size === 0) return;
    const channel = LIVE_EVENT_CHANNEL[type];
    const robot = robotOf(body);
    // Serialised once, for the first client that wants it: none may want it (sockets still authenticating).
    let frame: string | undefined;
    for (const client of this.clients) {
      if (channel && !client.channels.has(channel)) continue;
      if (robot && client.robots && !client.robots.has(robot)) continue;
      frame ??= this.serialise(type, body);
      if (frame === undefined) return;
      this.sendEvent(client, frame);
    }
  }

  /** Sends directly to one client (replies to its own messages). */
  reply<K extends LiveEventType>(client: Client, type: K, body: LiveServerEvents[K]): void {
    const frame = this.serialise(type, body);
    if (frame !== undefined) this.sendEvent(client, frame);
  }

  flush(): void {
    this.tick++;
    this.drain(this.latestLocation, 'location');
    if (this.tick % TELEMETRY_EVERY === 0) this.drain(this.latestTelemetry, 'telemetry');
  }

  /**
   * Sends what waits to every client that wants it: at once to a client at the hub's rate; a slower one's
   * newest point per series is held until its turn (the first drain after it subscribed, then every
   * `ceil(rate / hz)` drains), so it misses no series that changed less often than it asks.
   */
  private drain(pending: Map<string, Pending>, kind: ThrottledKind): void {
    const turn = ++this.drains[kind];
    const base = LIVE_RATES_HZ[kind];
    for (const client of this.clients) {
      if (!client.channels.has('telemetry')) continue;
      const every = client.hz === null || client.hz >= base ? 1 : Math.ceil(base / client.hz);
      let due: Map<string, Pending> = pending;
      if (every > 1) {
        const held = client.held[kind];
        for (const [key, p] of pending) if (wants(client, p.point)) held.set(key, p);
        if (turn < client.nextTurn[kind]) continue;
        client.nextTurn[kind] = turn + every;
        due = held;
      }
      if (due.size > 0) this.sendTelemetry(client, due);
      if (due !== pending) due.clear();
    }
    pending.clear();
  }

  /** A client's due telemetry frames, or none (counted as skipped) while its socket is backed up. */
  private sendTelemetry(client: Client, due: Map<string, Pending>): void {
    if (client.socket.bufferedAmount > this.soft) {
      let skipped = 0;
      for (const p of due.values()) if (wants(client, p.point)) skipped++;
      client.framesSkipped += skipped;
      this.counters.frames_skipped += skipped;
      return;
    }
    for (const [key, p] of due) {
      if (!wants(client, p.point)) continue;
      if (p.frame === undefined) p.frame = this.serialise('telemetry', telemetryBody(p.point)) ?? null;
      if (p.frame === null) {
        due.delete(key);
        continue;
      }
      this.write(client, p.frame);
    }
  }

  private sendEvent(client: Client, frame: string): void {
    if (client.socket.bufferedAmount > this.hard) {
      this.counters.clients_dropped++;
      this.clients.delete(client);
      client.socket.close(LIVE_CLOSE.too_slow.code, LIVE_CLOSE.too_slow.reason);
      return;
    }
    this.write(client, frame);
  }

  /** Sends one frame; the client's frames of this run of code go to its socket together (LiveSocket.cork). */
  private write(client: Client, frame: string): void {
    const socket = client.socket;
    if (!client.corked && socket.cork && socket.uncork) {
      client.corked = true;
      socket.cork();
      process.nextTick(() => {
        client.corked = false;
        socket.uncork?.();
      });
    }
    socket.send(frame);
    client.framesSent++;
    this.counters.frames_sent++;
  }

  /**
   * The frame's JSON, or undefined when it cannot be serialised (a value too deep for
   * JSON.stringify's recursion, a BigInt, a cycle): the frame is dropped, counted and logged at a
   * bounded rate, and every other frame and client carries on. This runs on the broker's delivery
   * path, where a throw would stop the server.
   */
  private serialise<K extends LiveEventType>(type: K, body: LiveServerEvents[K]): string | undefined {
    try {
      return JSON.stringify({ type, ...body });
    } catch (err) {
      this.counters.frames_dropped++;
      const now = this.now();
      if (now - this.dropLoggedAt < DROP_LOG_INTERVAL_MS) {
        this.dropsNotLogged++;
        return undefined;
      }
      const robot_id = (body as { robot_id?: unknown }).robot_id;
      this.logger?.error(
        {
          type,
          robot_id,
          err: err instanceof Error ? err.message : String(err),
          suppressed: this.dropsNotLogged,
        },
        'live: frame dropped, it cannot be serialised',
      );
      this.dropLoggedAt = now;
      this.dropsNotLogged = 0;
      return undefined;
    }
  }
}

export type LiveClient = ReturnType<LiveHub['add']>;

/**
 * The robot an event is about, for the subscription's robot filter: its `robot_id`, or its alert's. Null or
 * none (an alert about the fleet): every subscriber of the channel gets it.
 */
function robotOf(body: object): string | null | undefined {
  if ('robot_id' in body) return body.robot_id as string | null | undefined;
  if ('alert' in body) return (body.alert as { robot_id?: string | null } | undefined)?.robot_id;
  return undefined;
}

function wants(client: Client, p: TelemetryPoint): boolean {
  return (
    (client.robots === null || client.robots.has(p.robot_id)) &&
    (client.telemetryRobots === null || client.telemetryRobots.has(p.robot_id)) &&
    (client.measurements === null || client.measurements.has(p.measurement))
  );
}

function seriesKey(p: TelemetryPoint): string {
  const servo = p.tags?.servo_id;
  return servo === undefined ? `${p.robot_id}|${p.measurement}` : `${p.robot_id}|${p.measurement}|${servo}`;
}

function telemetryBody(p: TelemetryPoint): LiveServerEvents['telemetry'] {
  const body: LiveServerEvents['telemetry'] = {
    robot_id: p.robot_id,
    measurement: p.measurement,
    ts: p.ts,
    fields: p.fields as Record<string, number>,
  };
  if (p.tags) body.tags = p.tags as Record<string, string>;
  return body;
}
