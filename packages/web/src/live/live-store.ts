import type { LiveFrame, LiveServerEvents, RobotStatus } from '../api/types';

/** The newest value of one series (a measurement, or one servo of `servos`). */
export interface LatestValue {
  ts: number;
  fields: Readonly<Record<string, number>>;
}

export interface LiveRobot {
  /** `measurement` or `servos:<servo_id>` → its newest value. */
  readonly series: ReadonlyMap<string, LatestValue>;
  status?: { status: RobotStatus; ts: number; reason?: string | null };
  /** Epoch ms of the newest frame of any kind. */
  lastTs: number;
}

export function seriesKey(measurement: string, tags?: Readonly<Record<string, string>>): string {
  return tags?.servo_id !== undefined ? `${measurement}:${tags.servo_id}` : measurement;
}

/**
 * What the live stream said last, per robot. Written by the live source once per animation frame
 * (`apply` for each frame, then `commit`); read by components through selectors, which re-render only
 * when the value they select changed.
 */
export class LiveStore {
  private readonly robots = new Map<string, LiveRobot & { series: Map<string, LatestValue> }>();
  private readonly listeners = new Set<() => void>();
  private dirty = false;
  /** Bumped on every commit that changed something: selectors' snapshots key on it. */
  version = 0;

  apply(frame: LiveFrame): void {
    if (frame.type === 'telemetry') this.telemetry(frame);
    else if (frame.type === 'status') this.status(frame);
  }

  private robot(id: string) {
    let r = this.robots.get(id);
    if (!r) {
      r = { series: new Map(), lastTs: 0 };
      this.robots.set(id, r);
    }
    return r;
  }

  private telemetry(frame: LiveServerEvents['telemetry']): void {
    const r = this.robot(frame.robot_id);
    const key = seriesKey(frame.measurement, frame.tags);
    const prev = r.series.get(key);
    if (prev && prev.ts > frame.ts) return;
    r.series.set(key, { ts: frame.ts, fields: frame.fields });
    if (frame.ts > r.lastTs) r.lastTs = frame.ts;
    this.dirty = true;
  }

  private status(frame: LiveServerEvents['status']): void {
    const r = this.robot(frame.robot_id);
    r.status = {
      status: frame.status,
      ts: frame.ts,
      ...(frame.reason !== undefined ? { reason: frame.reason } : {}),
    };
    if (frame.ts > r.lastTs) r.lastTs = frame.ts;
    this.dirty = true;
  }

  /** Ends a batch: listeners hear of it once. */
  commit(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.version++;
    for (const l of this.listeners) l();
  }

  get(robotId: string): LiveRobot | undefined {
    return this.robots.get(robotId);
  }

  /** The newest value of a field, if the stream brought one. */
  value(robotId: string, measurement: string, field: string, servoId?: string): number | undefined {
    const key = servoId === undefined ? measurement : `${measurement}:${servoId}`;
    return this.robots.get(robotId)?.series.get(key)?.fields[field];
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
