import { isValidRobotId, type RobotProtocol } from '@tonypi/contracts';
import { CameraServer } from './camera/camera-server';
import { FleetScheduler } from './fleet-scheduler';
import { deriveSeed } from './prng';
import {
  type AgentLogger,
  createCounters,
  type FleetCounters,
  type MqttConnect,
  SimulatedRobot,
} from './simulated-robot';

export interface FleetOptions {
  /** e.g. mqtt://127.0.0.1:1883 */
  brokerUrl: string;
  /** Number of simulated robots. */
  robots: number;
  /** Telemetry samples per second per robot (default 1). */
  rateHz?: number;
  /** Robot ids are the prefix plus a zero-padded number: tonypi_sim_01 … (default 'tonypi_sim_'). */
  idPrefix?: string;
  /** Exactly these robot ids instead (`robots` must be their number). */
  robotIds?: readonly string[];
  /** 'legacy' speaks exactly the seed robot client's wire format (DESIGN §3a). */
  protocol?: RobotProtocol;
  username?: string;
  password?: string;
  /** Per-robot credentials; wins over username/password. */
  credentials?: (robotId: string) => { username: string; password: string };
  /** Occasional faults: servo overheating, link drops, error logs (default true). */
  faults?: boolean;
  /** Robots take jobs on their own (default true); off, they only obey commands. */
  autonomy?: boolean;
  /** Seed for every robot's PRNG (default: random); the same seed replays the same fleet. */
  seed?: number;
  /** How long to wait for every robot's first connection (default 10 s). */
  connectTimeoutMs?: number;
  logger?: AgentLogger;
  /**
   * The robots' synthetic cameras (MJPEG test pattern, 640×480), served on 127.0.0.1 at the `camera_url` each
   * reports: port 0 (default) = a free one; false = none (the robots report mjpg-streamer's usual URL).
   */
  camera?: false | { port?: number; fps?: number };
  /** How each robot opens its MQTT connection (default mqtt.js's `connect`; tests pass a fake). */
  connect?: MqttConnect;
}

export interface FleetStats {
  published: number;
  commands: number;
  reconnects: number;
  /** Telemetry samples sent (bundles, or legacy per-reading sets). */
  telemetry: number;
  /** Samples not sent: link down or congested. */
  dropped: number;
  /** Ticks the scheduler skipped because the process fell behind. */
  skipped: number;
}

const silentLogger: AgentLogger = { info: () => undefined, warn: () => undefined };

/** Robot ids for a fleet: tonypi_sim_01 … tonypi_sim_12 (wider numbers for larger fleets). */
export function fleetRobotIds(prefix: string, count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

/** N simulated robots on one shared scheduler. */
export class Fleet {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly robots: readonly SimulatedRobot[],
    private readonly scheduler: FleetScheduler,
    private readonly counters: FleetCounters,
    /** The robots' cameras (undefined with `camera: false`). */
    readonly camera: CameraServer | undefined,
  ) {}

  static async start(opts: FleetOptions): Promise<Fleet> {
    const rateHz = opts.rateHz ?? 1;
    if (!Number.isInteger(opts.robots) || opts.robots < 1 || opts.robots > 10_000) {
      throw new RangeError(`robots must be an integer from 1 to 10000, got ${opts.robots}`);
    }
    if (!(rateHz > 0 && rateHz <= 1000)) throw new RangeError(`rateHz must be in (0, 1000], got ${rateHz}`);
    if (opts.robotIds && opts.robotIds.length !== opts.robots) {
      throw new RangeError(`robotIds names ${opts.robotIds.length} robots, robots says ${opts.robots}`);
    }
    const ids = opts.robotIds
      ? [...opts.robotIds]
      : fleetRobotIds(opts.idPrefix ?? 'tonypi_sim_', opts.robots);
    const bad = ids.find((id) => !isValidRobotId(id));
    if (bad) throw new RangeError(`invalid robot id '${bad}': use letters, digits, _ and - (at most 64)`);

    const logger = opts.logger ?? silentLogger;
    const protocol = opts.protocol ?? 'canonical';
    if (protocol === 'legacy' && (opts.username || opts.credentials)) {
      logger.warn({}, 'legacy protocol: the seed client sends no credentials, ignoring them');
    }
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
    const counters = createCounters();
    const camera =
      opts.camera === false
        ? undefined
        : await CameraServer.start({
            robotIds: ids,
            ...(opts.camera?.port === undefined ? {} : { port: opts.camera.port }),
            ...(opts.camera?.fps === undefined ? {} : { fps: opts.camera.fps }),
          });
    const robots = ids.map((id, i) => {
      const creds = opts.credentials?.(id);
      const username = creds?.username ?? opts.username;
      const password = creds?.password ?? opts.password;
      return new SimulatedRobot({
        id,
        brokerUrl: opts.brokerUrl,
        protocol,
        seed: deriveSeed(seed, i),
        faults: opts.faults ?? true,
        autonomy: opts.autonomy ?? true,
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        logger,
        counters,
        ...(camera ? { cameraUrl: camera.urlFor(id) } : {}),
        ...(opts.connect ? { connect: opts.connect } : {}),
      });
    });
    const scheduler = new FleetScheduler(robots, rateHz);
    const fleet = new Fleet(robots, scheduler, counters, camera);
    try {
      await Promise.all(robots.map((r) => r.start(opts.connectTimeoutMs ?? 10_000)));
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    scheduler.start();
    return fleet;
  }

  stats(): FleetStats {
    return { ...this.counters, skipped: this.scheduler.skipped };
  }

  /** Stops publishing, then each robot says offline and disconnects cleanly. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.scheduler.stop();
      this.stopping = Promise.all(this.robots.map((r) => r.stop())).then(() => this.camera?.stop());
    }
    return this.stopping;
  }
}
