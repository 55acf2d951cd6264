import type { LiveChannel, LiveFrame, LiveServerEvents, MeasurementName } from '../api/types';
import { LiveStore } from './live-store';

/**
 * The one live data source of the app: a WebSocket to `/api/v1/stream`, authenticated by the session
 * cookie the upgrade carries. It reconnects with backoff and subscribes again to what the mounted pages
 * need; frames are queued as they arrive and applied once per animation frame, so a hundred robots at
 * 10 Hz cost one store update and one render pass per frame, not one per message.
 */

export type ConnectionState =
  /** First attempt under way. */
  | 'connecting'
  /** Open and subscribed: values are live. */
  | 'live'
  /** Lost; the next attempt is scheduled (`retryAt`). */
  | 'reconnecting'
  /** The server refused the session (signed out, expired, password change required): no retries. */
  | 'unauthorized'
  /** Stopped by the app (signed out). */
  | 'stopped';

export interface ConnectionInfo {
  state: ConnectionState;
  /** Epoch ms of the next attempt, while reconnecting. */
  retryAt?: number;
  /** Why the last socket ended, in words. */
  reason?: string;
  /** Attempts since the last open socket. */
  attempts: number;
}

/** What the source needs of a socket: the browser's WebSocket, or a fake in tests. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface LiveSourceOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  /** Runs the flush before the next paint; tests pass a manual scheduler. */
  schedule?: (flush: () => void) => void;
  /** Backoff: first delay, cap (ms). */
  backoffMs?: { first: number; max: number };
  /** No frame (not even a heartbeat) for this long: the socket is taken as dead and replaced. */
  silenceMs?: number;
  random?: () => number;
}

/**
 * The telemetry a page shows: some measurements, at most `hz` frames per second per series. Without it a
 * page gets every measurement at the server's rates. The socket asks for what its pages together need (the
 * union of their measurements, the highest rate), so a page that needs less costs the tab less.
 */
export interface TelemetryNeed {
  /** Only these robots' telemetry (a robot's page); without it every robot's. */
  robots?: readonly string[];
  measurements?: readonly MeasurementName[];
  hz?: number;
}

/** What the server sends a socket that never narrowed its telemetry. */
const ALL_TELEMETRY = {
  telemetry_robots: ['*'] as string[],
  measurements: ['*'] as Array<MeasurementName | '*'>,
  telemetry_hz: 20,
};
const ALL_TELEMETRY_KEY = JSON.stringify(ALL_TELEMETRY);

type FrameOf<K extends keyof LiveServerEvents> = { type: K } & LiveServerEvents[K];
type FrameListener<K extends keyof LiveServerEvents> = (frames: readonly FrameOf<K>[]) => void;

const CONNECTING = 0;
const OPEN = 1;
/** Close codes after which retrying cannot help (LIVE_CLOSE in contracts). */
const REFUSED_CODES = new Set([4401, 4403]);

export function liveUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/stream`;
}

export class LiveSource {
  readonly store = new LiveStore();
  private socket: SocketLike | undefined;
  private info: ConnectionInfo = { state: 'connecting', attempts: 0 };
  private readonly infoListeners = new Set<() => void>();
  private readonly channelCounts = new Map<LiveChannel, number>();
  /** One entry per user of the telemetry channel. */
  private readonly telemetryNeeds = new Set<TelemetryNeed>();
  /** The telemetry filter in effect on the current socket (JSON). */
  private filterSent = ALL_TELEMETRY_KEY;
  private readonly frameListeners = new Map<string, Set<FrameListener<never>>>();
  private queue: LiveFrame[] = [];
  private flushScheduled = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private silenceTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private readonly opts: Required<Omit<LiveSourceOptions, 'createSocket'>> & {
    createSocket: (url: string) => SocketLike;
  };

  constructor(opts: LiveSourceOptions) {
    this.opts = {
      url: opts.url,
      createSocket: opts.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      schedule: opts.schedule ?? ((flush) => requestAnimationFrame(flush)),
      backoffMs: opts.backoffMs ?? { first: 500, max: 15_000 },
      silenceMs: opts.silenceMs ?? 40_000,
      random: opts.random ?? Math.random,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.info = { state: 'connecting', attempts: 0 };
    this.emitInfo();
    this.connect();
  }

  /** Closes the socket and stops retrying (signing out). */
  stop(state: 'stopped' | 'unauthorized' = 'stopped', reason?: string): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      // Closing a socket still connecting makes browsers log a warning: close it once it has opened.
      if (socket.readyState === CONNECTING) socket.onopen = () => socket.close(1000, 'signed out');
      else socket.close(1000, 'signed out');
    }
    this.info = { state, attempts: 0, ...(reason ? { reason } : {}) };
    this.emitInfo();
  }

  /** Tries again now instead of waiting for the backoff (the "retry now" button). */
  retryNow(): void {
    if (!this.running || this.info.state !== 'reconnecting') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connection(): ConnectionInfo {
    return this.info;
  }

  onConnection(listener: () => void): () => void {
    this.infoListeners.add(listener);
    return () => this.infoListeners.delete(listener);
  }

  /**
   * Asks for channels while the caller needs them (counted: a channel is unsubscribed when its last user
   * lets go), and with `telemetry` what of it the caller shows. Returns the release.
   */
  need(channels: readonly LiveChannel[], telemetry: TelemetryNeed = {}): () => void {
    const added: LiveChannel[] = [];
    for (const c of channels) {
      const n = this.channelCounts.get(c) ?? 0;
      this.channelCounts.set(c, n + 1);
      if (n === 0) added.push(c);
    }
    const entry: TelemetryNeed = { ...telemetry };
    if (channels.includes('telemetry')) this.telemetryNeeds.add(entry);
    this.subscribe(added);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const removed: LiveChannel[] = [];
      for (const c of channels) {
        const n = (this.channelCounts.get(c) ?? 1) - 1;
        if (n <= 0) {
          this.channelCounts.delete(c);
          removed.push(c);
        } else this.channelCounts.set(c, n);
      }
      this.telemetryNeeds.delete(entry);
      if (removed.length > 0) this.send({ type: 'unsubscribe', robots: ['*'], channels: removed });
      // A wider need may have gone: narrow what the others still use.
      this.subscribe([]);
    };
  }

  /** What the telemetry users together need: the union of their robots and measurements, the highest rate. */
  private telemetryFilter(): typeof ALL_TELEMETRY {
    const needs = [...this.telemetryNeeds];
    if (needs.length === 0) return ALL_TELEMETRY;
    // A user that names none needs all (`*`).
    const union = <T extends string>(pick: (n: TelemetryNeed) => readonly T[] | undefined): Array<T | '*'> =>
      needs.some((n) => !pick(n)) ? ['*'] : [...new Set(needs.flatMap((n) => pick(n) ?? []))].sort();
    const measurements = union((n) => n.measurements);
    const telemetry_robots = union((n) => n.robots);
    const hz = needs.some((n) => !n.hz)
      ? ALL_TELEMETRY.telemetry_hz
      : Math.max(...needs.map((n) => n.hz ?? 0));
    return {
      telemetry_robots,
      measurements,
      telemetry_hz: Math.min(ALL_TELEMETRY.telemetry_hz, Math.max(1, hz)),
    };
  }

  /** Subscribes to `channels`, carrying the telemetry filter when it differs from what the socket has. */
  private subscribe(channels: readonly LiveChannel[]): void {
    if (!this.socket || this.socket.readyState !== OPEN || this.info.state !== 'live') return;
    const filter = this.telemetryNeeds.size > 0 ? this.telemetryFilter() : undefined;
    const key = filter ? JSON.stringify(filter) : this.filterSent;
    const changed = key !== this.filterSent;
    if (channels.length === 0 && !changed) return;
    this.filterSent = key;
    this.send({
      type: 'subscribe',
      robots: ['*'],
      channels: channels.length > 0 ? channels : ['telemetry'],
      ...(changed ? filter : {}),
    });
  }

  /** Every frame of a type, in order, handed over in one batch per animation frame. */
  listen<K extends keyof LiveServerEvents>(type: K, listener: FrameListener<K>): () => void {
    let set = this.frameListeners.get(type);
    if (!set) {
      set = new Set();
      this.frameListeners.set(type, set);
    }
    set.add(listener as FrameListener<never>);
    return () => set.delete(listener as FrameListener<never>);
  }

  private connect(): void {
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch (err) {
      this.lost(`could not open the live stream: ${String(err)}`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.armSilence();
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {
      // The close event that follows says what happened.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      clearTimeout(this.silenceTimer);
      if (REFUSED_CODES.has(ev.code)) {
        this.running = false;
        this.info = { state: 'unauthorized', attempts: 0, reason: ev.reason || 'The session ended' };
        this.emitInfo();
        return;
      }
      this.lost(ev.reason || `the connection closed (${ev.code})`);
    };
  }

  private lost(reason: string): void {
    if (!this.running) return;
    const attempts = this.info.attempts + 1;
    const { first, max } = this.opts.backoffMs;
    const base = Math.min(max, first * 2 ** (attempts - 1));
    // Full jitter on half the delay: a hundred browsers do not come back in step after a server restart.
    const delay = Math.round(base / 2 + (base / 2) * this.opts.random());
    this.info = { state: 'reconnecting', attempts, reason, retryAt: Date.now() + delay };
    this.emitInfo();
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private armSilence(): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      const socket = this.socket;
      if (!socket) return;
      this.socket = undefined;
      socket.onclose = null;
      socket.close(4000, 'silent');
      this.lost('no heartbeat from the server');
    }, this.opts.silenceMs);
  }

  private receive(data: unknown): void {
    this.armSilence();
    if (typeof data !== 'string') return;
    let frame: LiveFrame;
    try {
      frame = JSON.parse(data) as LiveFrame;
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      if (!frame.authenticated) return;
      this.opened();
      return;
    }
    if (frame.type === 'heartbeat' || frame.type === 'pong' || frame.type === 'subscribed') return;
    this.queue.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.opts.schedule(() => this.flush());
    }
  }

  private opened(): void {
    this.info = { state: 'live', attempts: 0 };
    this.emitInfo();
    // A new socket gets every measurement until told otherwise.
    this.filterSent = ALL_TELEMETRY_KEY;
    this.subscribe([...this.channelCounts.keys()]);
  }

  /** Applies every queued frame to the store, then tells listeners: once per animation frame. */
  flush(): void {
    this.flushScheduled = false;
    const frames = this.queue;
    if (frames.length === 0) return;
    this.queue = [];
    const byType = new Map<string, LiveFrame[]>();
    for (const frame of frames) {
      this.store.apply(frame);
      let list = byType.get(frame.type);
      if (!list) {
        list = [];
        byType.set(frame.type, list);
      }
      list.push(frame);
    }
    this.store.commit();
    for (const [type, list] of byType) {
      for (const listener of this.frameListeners.get(type) ?? []) {
        try {
          (listener as (f: readonly LiveFrame[]) => void)(list);
        } catch (err) {
          console.error('live listener failed', err);
        }
      }
    }
  }

  private send(msg: unknown): void {
    const socket = this.socket;
    if (socket && socket.readyState === OPEN && this.info.state === 'live') socket.send(JSON.stringify(msg));
  }

  private emitInfo(): void {
    for (const l of this.infoListeners) l();
  }
}
