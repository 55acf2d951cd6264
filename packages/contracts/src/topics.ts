/**
 * MQTT topics. Canonical layout: `tonypi/{robot_id}/{channel}`. The seed system's robot client
 * uses a legacy layout (`tonypi/{channel}/{robot_id}`, some topics without an id); both decode
 * without ambiguity because a robot id may not be one of the legacy channel words.
 */

export const PROTOCOL_VERSION = '1.0';
export const TOPIC_ROOT = 'tonypi';

export const ROBOT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Words that are channels in the legacy layout, and therefore never robot ids. */
export const LEGACY_CHANNEL_WORDS = [
  'sensors',
  'servos',
  'status',
  'battery',
  'location',
  'job',
  'logs',
  'vision',
  'scan',
  'commands',
  'emergency_stop',
  'items',
  'system',
] as const;

/** Words that legacy topics use in the robot's place (`tonypi/commands/broadcast`, `…/response`). */
const RESERVED_IDS = ['broadcast', 'response'] as const;

const RESERVED = new Set<string>(LEGACY_CHANNEL_WORDS);
const RESERVED_ROBOT_IDS = new Set<string>([...LEGACY_CHANNEL_WORDS, ...RESERVED_IDS]);

export function isValidRobotId(id: string): boolean {
  return ROBOT_ID_RE.test(id) && !RESERVED_ROBOT_IDS.has(id);
}

/** Whether a topic is one only the server may publish (commands, config, broadcasts, item replies). */
export function isServerTopic(topic: string): boolean {
  const decoded = decodeTopic(topic);
  return !decoded.ok && decoded.reason === 'outbound';
}

/** Channels a robot publishes (canonical layout). `performance` is the seeds' name for `system`. */
export const ROBOT_CHANNELS = [
  'status',
  'telemetry',
  'sensors',
  'servos',
  'system',
  'battery',
  'location',
  'job',
  'scan',
  'vision',
  'log',
  'command/response',
] as const;
export type RobotChannel = (typeof ROBOT_CHANNELS)[number];

/** Channel names accepted on the wire and the channel they mean. */
const CANONICAL_CHANNEL_ALIASES: Readonly<Record<string, RobotChannel>> = {
  status: 'status',
  telemetry: 'telemetry',
  sensors: 'sensors',
  servos: 'servos',
  system: 'system',
  performance: 'system',
  battery: 'battery',
  location: 'location',
  job: 'job',
  scan: 'scan',
  vision: 'vision',
  log: 'log',
  logs: 'log',
};

/** Legacy topics `tonypi/{word}/{robot_id}` and the channel they carry. */
const LEGACY_PER_ROBOT: Readonly<Record<string, RobotChannel>> = {
  sensors: 'sensors',
  servos: 'servos',
  status: 'status',
  job: 'job',
  logs: 'log',
  vision: 'vision',
  scan: 'scan',
  battery: 'battery',
  location: 'location',
};

/** Legacy topics that name no robot: the id is in the payload's `robot_id`. */
const LEGACY_SHARED: Readonly<Record<string, RobotChannel>> = {
  'tonypi/battery': 'battery',
  'tonypi/location': 'location',
  'tonypi/commands/response': 'command/response',
  'tonypi/emergency_stop/response': 'command/response',
};

/**
 * The two MQTT dialects a robot may speak: ours (`tonypi/{id}/{channel}`) and the original Python
 * client's (`tonypi/{channel}/{id}`, see docs/protocol.md).
 */
export const ROBOT_PROTOCOLS = ['canonical', 'legacy'] as const;
export type RobotProtocol = (typeof ROBOT_PROTOCOLS)[number];

/** Which layout a topic is in: the protocol of the robot that published it. */
export type TopicLayout = RobotProtocol;

export type DecodedTopic =
  | { ok: true; channel: RobotChannel; layout: TopicLayout; robot_id: string | null }
  | { ok: false; reason: 'bad_robot_id' | 'unknown_channel' | 'not_a_robot_topic' }
  /** A server → robot topic (command, config, broadcast, items): not ingested, not an error. */
  | { ok: false; reason: 'outbound' };

const LEGACY_OUTBOUND = new Set(['commands', 'emergency_stop', 'items', 'system']);
const CANONICAL_OUTBOUND = new Set(['command', 'config']);

/** A table's own entry: never an inherited name like `constructor` or `toString`, which a topic may spell. */
function lookup<V>(table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Maps a topic to its channel and robot. `robot_id` is null when the topic carries none
 * (legacy shared topics): the payload must then name the robot.
 */
export function decodeTopic(topic: string): DecodedTopic {
  const shared = lookup(LEGACY_SHARED, topic);
  if (shared) return { ok: true, channel: shared, layout: 'legacy', robot_id: null };
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT || parts.length < 3 || parts.length > 4) {
    return { ok: false, reason: 'not_a_robot_topic' };
  }
  const second = parts[1]!;
  const third = parts[2]!;
  if (parts.length === 3 && RESERVED.has(second)) {
    // Legacy: tonypi/{channel}/{robot_id}
    const channel = lookup(LEGACY_PER_ROBOT, second);
    if (!channel)
      return { ok: false, reason: LEGACY_OUTBOUND.has(second) ? 'outbound' : 'not_a_robot_topic' };
    if (!isValidRobotId(third)) return { ok: false, reason: 'bad_robot_id' };
    return { ok: true, channel, layout: 'legacy', robot_id: third };
  }
  if (!isValidRobotId(second)) return { ok: false, reason: 'bad_robot_id' };
  if (parts.length === 4) {
    if (third === 'command' && parts[3] === 'response') {
      return { ok: true, channel: 'command/response', layout: 'canonical', robot_id: second };
    }
    return { ok: false, reason: 'unknown_channel' };
  }
  if (CANONICAL_OUTBOUND.has(third)) return { ok: false, reason: 'outbound' };
  const channel = lookup(CANONICAL_CHANNEL_ALIASES, third);
  if (!channel) return { ok: false, reason: 'unknown_channel' };
  return { ok: true, channel, layout: 'canonical', robot_id: second };
}

/** Topic builders: the one place the layout is spelled out. */
export const topics = {
  robot: (robot_id: string, channel: RobotChannel): string => `${TOPIC_ROOT}/${robot_id}/${channel}`,
  command: (robot_id: string): string => `${TOPIC_ROOT}/${robot_id}/command`,
  config: (robot_id: string): string => `${TOPIC_ROOT}/${robot_id}/config`,
  broadcast: `${TOPIC_ROOT}/system/broadcast`,
  legacy: {
    command: (robot_id: string): string => `${TOPIC_ROOT}/commands/${robot_id}`,
    commandBroadcast: `${TOPIC_ROOT}/commands/broadcast`,
    emergencyStop: (robot_id: string): string => `${TOPIC_ROOT}/emergency_stop/${robot_id}`,
    emergencyStopBroadcast: `${TOPIC_ROOT}/emergency_stop/broadcast`,
    items: (robot_id: string): string => `${TOPIC_ROOT}/items/${robot_id}`,
  },
} as const;

/** Whether the ingest's subscriptions (`INGEST_SUBSCRIPTIONS`) match this topic. */
export function isIngestTopic(topic: string): boolean {
  if (topic === `${TOPIC_ROOT}/battery` || topic === `${TOPIC_ROOT}/location`) return true;
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT) return false;
  // `+` matches any level but an empty one is a level too: `tonypi//x` matches `tonypi/+/+`.
  return parts.length === 3 || (parts.length === 4 && parts[2] === 'command' && parts[3] === 'response');
}

/** What the server subscribes to for ingest: every robot channel in both layouts. */
export const INGEST_SUBSCRIPTIONS = [
  `${TOPIC_ROOT}/+/+`,
  `${TOPIC_ROOT}/+/command/response`,
  `${TOPIC_ROOT}/battery`,
  `${TOPIC_ROOT}/location`,
] as const;

/**
 * The robot ACL (issue #12 §2): what a robot, identified by its id, may publish. Its own topics —
 * `tonypi/{id}/…` (canonical) and `tonypi/{channel}/{id}` (legacy) — but none the server publishes to it
 * (`command`, `config`); and the legacy shared topics that name no robot (`tonypi/battery`,
 * `tonypi/location`, `tonypi/commands/response`, `tonypi/emergency_stop/response`), whose payload's
 * `robot_id` the ingest holds to the same id.
 */
export function robotMayPublish(robot_id: string, topic: string): boolean {
  // A client id that is no robot id (a legacy channel word, a slash …) owns no topic.
  if (!isValidRobotId(robot_id)) return false;
  if (lookup(LEGACY_SHARED, topic)) return true;
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT || parts.length < 3) return false;
  if (parts[1] === robot_id) return !isServerTopic(topic);
  return parts.length === 3 && parts[2] === robot_id && lookup(LEGACY_PER_ROBOT, parts[1]!) !== undefined;
}

/**
 * Topic filters a robot may subscribe to: its own command, config, items and emergency-stop topics
 * (both layouts) and the fleet broadcasts. Exact topics only: a wildcard would reach other robots.
 */
export function robotSubscriptions(robot_id: string): readonly string[] {
  return [
    topics.command(robot_id),
    topics.config(robot_id),
    topics.legacy.command(robot_id),
    topics.legacy.emergencyStop(robot_id),
    topics.legacy.items(robot_id),
    ...BROADCAST_TOPICS,
  ];
}

/** The fleet-wide topics every robot may subscribe to. */
export const BROADCAST_TOPICS = [
  topics.broadcast,
  topics.legacy.commandBroadcast,
  topics.legacy.emergencyStopBroadcast,
] as const;

export function robotMaySubscribe(robot_id: string, filter: string): boolean {
  if ((BROADCAST_TOPICS as readonly string[]).includes(filter)) return true;
  if (!isValidRobotId(robot_id)) return false;
  return robotSubscriptions(robot_id).includes(filter);
}
