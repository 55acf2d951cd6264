import {
  type BrokerRefusalEvent,
  type DecodedMessage,
  DIAGNOSTICS_EXCERPT_CHARS,
  DIAGNOSTICS_REJECTIONS_KEPT,
  type IngestRejection,
  type RobotChannel,
  type RobotDiagnostics,
  type RobotProtocol,
} from '@tonypi/contracts';

/** Rates are counted in buckets this long, an hour of them. */
const BUCKET_MS = 10_000;
const BUCKETS = 360;
const MINUTE_MS = 60_000;
const HOUR_MS = BUCKETS * BUCKET_MS;
/** Robots whose refusals are kept at most: refused messages may name any id, not only known robots. */
const MAX_REFUSED_ROBOTS = 10_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const CONTROL = /[\u0000-\u001f\u007f]/g;

/**
 * An hour of counts in 10-second buckets, in a ring: a bucket is reset when it comes round again, so a
 * count costs an index, a compare and an increment — the ingest's path.
 */
class BucketRing {
  readonly counts = new Uint32Array(BUCKETS);
  /** The bucket number (time / BUCKET_MS) each slot counts; another number = an old slot, 0 now. */
  readonly epochs = new Float64Array(BUCKETS).fill(-1);

  slot(at: number): number {
    const epoch = Math.floor(at / BUCKET_MS);
    const i = epoch % BUCKETS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.counts[i] = 0;
      this.resetSlot(i);
    }
    return i;
  }

  /** Subclasses clear their own per-slot figures. */
  protected resetSlot(_i: number): void {}

  add(at: number): void {
    this.counts[this.slot(at)]!++;
  }

  /** Calls `each` with every slot whose bucket lies within `spanMs` before `now`. */
  within(now: number, spanMs: number, each: (i: number) => void): void {
    const newest = Math.floor(now / BUCKET_MS);
    const oldest = newest - Math.ceil(spanMs / BUCKET_MS) + 1;
    for (let i = 0; i < BUCKETS; i++) {
      const e = this.epochs[i]!;
      if (e >= oldest && e <= newest) each(i);
    }
  }

  sum(now: number, spanMs: number): number {
    let n = 0;
    this.within(now, spanMs, (i) => {
      n += this.counts[i]!;
    });
    return n;
  }
}

/** Clock offsets (received_at − ts) per bucket: how many, their sum, min and max; and the skewed ones. */
class ClockRing extends BucketRing {
  readonly sums = new Float64Array(BUCKETS);
  readonly mins = new Float64Array(BUCKETS);
  readonly maxs = new Float64Array(BUCKETS);
  readonly skewed = new Uint32Array(BUCKETS);

  protected override resetSlot(i: number): void {
    this.sums[i] = 0;
    this.mins[i] = Number.POSITIVE_INFINITY;
    this.maxs[i] = Number.NEGATIVE_INFINITY;
    this.skewed[i] = 0;
  }

  offset(at: number, offsetMs: number): void {
    const i = this.slot(at);
    this.counts[i]!++;
    this.sums[i]! += offsetMs;
    if (offsetMs < this.mins[i]!) this.mins[i] = offsetMs;
    if (offsetMs > this.maxs[i]!) this.maxs[i] = offsetMs;
  }

  skew(at: number): void {
    this.skewed[this.slot(at)]!++;
  }
}

interface ChannelState {
  ring: BucketRing;
  protocol: RobotProtocol;
  first_seen: number;
  last_seen: number;
}

interface RobotState {
  channels: Map<RobotChannel, ChannelState>;
  clock: ClockRing;
  last_offset: number | null;
  protocol: RobotProtocol;
  last_seen: number;
}

type Rejected = RobotDiagnostics['rejected']['recent'][number];
type Denial = RobotDiagnostics['acl_denials']['recent'][number];

interface RefusedState {
  ring: BucketRing;
  total: number;
  by_reason: Record<string, number>;
  /** Newest last; at most DIAGNOSTICS_REJECTIONS_KEPT. */
  recent: Rejected[];
  denials_total: number;
  denials: Denial[];
}

const DENIAL_KIND: Readonly<Record<string, Denial['kind']>> = {
  acl_denied: 'publish',
  subscribe_denied: 'subscribe',
  auth_refused: 'connect',
};

function excerpt(bytes: Buffer): string {
  return bytes.toString('utf8').slice(0, DIAGNOSTICS_EXCERPT_CHARS).replace(CONTROL, '\uFFFD');
}

function keep<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > DIAGNOSTICS_REJECTIONS_KEPT) list.shift();
}

/**
 * Per-robot data diagnostics, in memory since the server started: per channel 10-second buckets of an hour
 * (fed by `robot.message`), the clock offset of each message, and the robot's last refused messages and ACL
 * denials (fed by `ingest.rejected` and `broker.refused`). Nothing here touches a database.
 */
export class RobotDiagnosticsTracker {
  private readonly robots = new Map<string, RobotState>();
  private readonly refused = new Map<string, RefusedState>();
  readonly startedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  /** One accepted message (the ingest's hot path: a few map lookups and increments). */
  readonly message = (msg: DecodedMessage): void => {
    const at = msg.received_at;
    let r = this.robots.get(msg.robot_id);
    if (!r) {
      r = {
        channels: new Map(),
        clock: new ClockRing(),
        last_offset: null,
        protocol: msg.layout,
        last_seen: at,
      };
      this.robots.set(msg.robot_id, r);
    }
    r.protocol = msg.layout;
    r.last_seen = at;
    let c = r.channels.get(msg.channel);
    if (!c) {
      c = { ring: new BucketRing(), protocol: msg.layout, first_seen: at, last_seen: at };
      r.channels.set(msg.channel, c);
    }
    c.ring.add(at);
    c.protocol = msg.layout;
    c.last_seen = at;
    if (msg.skewed) r.clock.skew(at);
    else {
      const offset = at - msg.ts;
      r.last_offset = offset;
      r.clock.offset(at, offset);
    }
  };

  readonly rejected = (e: IngestRejection): void => {
    if (e.robot_id !== undefined) {
      const s = this.refusedOf(e.robot_id);
      s.ring.add(e.received_at);
      s.total++;
      s.by_reason[e.reason] = (s.by_reason[e.reason] ?? 0) + 1;
      keep(s.recent, {
        at: new Date(e.received_at).toISOString(),
        reason: e.reason,
        detail: e.detail,
        topic: e.topic,
        payload_excerpt: excerpt(e.excerpt),
        payload_bytes: e.payload_bytes,
      });
    }
    // A message about another robot: the publisher's ACL denial.
    if (e.reason === 'acl_denied' && e.publisher !== undefined) {
      this.denied(e.publisher, { at: e.received_at, reason: 'acl_denied', kind: 'publish', topic: e.topic });
    }
  };

  readonly brokerRefused = (e: BrokerRefusalEvent): void => {
    const kind = DENIAL_KIND[e.reason];
    if (!kind || e.client_id === undefined) return;
    const reason = e.refusal ? `${e.reason}: ${e.refusal}` : e.reason;
    this.denied(e.client_id, { at: e.at, reason, kind, topic: e.topic ?? null });
  };

  private denied(
    robot_id: string,
    d: { at: number; reason: string; kind: Denial['kind']; topic: string | null },
  ) {
    const s = this.refusedOf(robot_id);
    s.denials_total++;
    keep(s.denials, { ...d, at: new Date(d.at).toISOString(), topic: d.topic?.slice(0, 200) ?? null });
  }

  private refusedOf(robot_id: string): RefusedState {
    let s = this.refused.get(robot_id);
    if (!s) {
      if (this.refused.size >= MAX_REFUSED_ROBOTS) {
        // The robot refused longest ago goes (a Map iterates in insertion order).
        const oldest = this.refused.keys().next().value;
        if (oldest !== undefined) this.refused.delete(oldest);
      }
      s = { ring: new BucketRing(), total: 0, by_reason: {}, recent: [], denials_total: 0, denials: [] };
      this.refused.set(robot_id, s);
    }
    return s;
  }

  /** The report of one robot (GET /robots/{id}/diagnostics); the caller checks that the robot exists. */
  report(robot_id: string): RobotDiagnostics {
    const now = this.now();
    const r = this.robots.get(robot_id);
    const s = this.refused.get(robot_id);
    const rate = (messages: number, span: number, since: number) => {
      const seconds = Math.max(1, Math.min(span, now - since)) / 1000;
      return { messages, per_s: Math.round((messages / seconds) * 1000) / 1000 };
    };
    const channels: RobotDiagnostics['channels'] = [];
    for (const [channel, c] of r?.channels ?? []) {
      if (now - c.last_seen > HOUR_MS) continue;
      const since = Math.max(c.first_seen, this.startedAt);
      channels.push({
        channel,
        protocol: c.protocol,
        last_seen: new Date(c.last_seen).toISOString(),
        last_minute: rate(c.ring.sum(now, MINUTE_MS), MINUTE_MS, since),
        last_hour: rate(c.ring.sum(now, HOUR_MS), HOUR_MS, since),
      });
    }
    channels.sort((a, b) => b.last_seen.localeCompare(a.last_seen) || a.channel.localeCompare(b.channel));
    let samples = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let skewed = 0;
    r?.clock.within(now, HOUR_MS, (i) => {
      samples += r.clock.counts[i]!;
      sum += r.clock.sums[i]!;
      min = Math.min(min, r.clock.mins[i]!);
      max = Math.max(max, r.clock.maxs[i]!);
      skewed += r.clock.skewed[i]!;
    });
    return {
      robot_id,
      generated_at: new Date(now).toISOString(),
      counting_since: new Date(this.startedAt).toISOString(),
      protocol: r?.protocol ?? null,
      last_seen: r ? new Date(r.last_seen).toISOString() : null,
      channels,
      clock: {
        samples,
        offset_ms_last: r?.last_offset ?? null,
        offset_ms_min: samples > 0 ? min : null,
        offset_ms_max: samples > 0 ? max : null,
        offset_ms_avg: samples > 0 ? Math.round(sum / samples) : null,
        skew_corrected: skewed,
      },
      rejected: {
        last_hour: s ? s.ring.sum(now, HOUR_MS) : 0,
        total: s?.total ?? 0,
        by_reason: { ...(s?.by_reason ?? {}) },
        recent: s ? [...s.recent].reverse() : [],
      },
      acl_denials: { total: s?.denials_total ?? 0, recent: s ? [...s.denials].reverse() : [] },
    };
  }
}
