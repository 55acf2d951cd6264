import {
  LEGACY_CHANNEL_WORDS,
  robotMayPublish,
  robotSubscriptions,
  TOPIC_ROOT,
  topics,
} from '@tonypi/contracts';

/** One ACL of a dynamic-security role, as the plugin's `createRole`/`addRoleACL` take it. */
export interface DynsecAcl {
  acltype:
    | 'publishClientSend'
    | 'publishClientReceive'
    | 'subscribeLiteral'
    | 'subscribePattern'
    | 'unsubscribeLiteral'
    | 'unsubscribePattern';
  topic: string;
  allow: boolean;
  /** Higher first; a deny above an allow carves a topic out of a wider grant. */
  priority: number;
}

/** The prefix of every role the server owns: reconciling never touches a role or client without one. */
export const ROBOT_ROLE_PREFIX = 'tonypi-robot-';
export const SERVER_ROLE = 'tonypi-server';

export const robotRoleName = (robot_id: string): string => `${ROBOT_ROLE_PREFIX}${robot_id}`;

/**
 * A robot's role: the broker-side twin of `robotMayPublish`/`robotMaySubscribe` (contracts/topics.ts), because
 * Mosquitto 2.0's dynamic security has no `%u` substitution: one role per robot, with its id spelled out.
 * - publish: its own canonical channels (`tonypi/{id}/+`, `…/command/response`) but not the two the server
 *   sends it (`command`, `config`, denied above the grant), and its legacy `tonypi/{word}/{id}` topics. Not the
 *   legacy topics that name no robot (`tonypi/battery` …): the server cannot tell who published one on an
 *   external broker, so any robot could speak for any other there.
 * - subscribe: exactly its own command, config, items and emergency-stop topics and the broadcasts, as
 *   literals: a wildcard filter (`tonypi/#`) or a `$share/…` one matches no ACL and gets a failure SUBACK.
 */
export function robotRoleAcls(robot_id: string): DynsecAcl[] {
  const own = `${TOPIC_ROOT}/${robot_id}`;
  const send = (topic: string, allow = true, priority = 5): DynsecAcl => ({
    acltype: 'publishClientSend',
    topic,
    allow,
    priority,
  });
  return [
    send(`${own}/+`),
    send(`${own}/command/response`),
    send(topics.command(robot_id), false, 10),
    send(topics.config(robot_id), false, 10),
    // The legacy words a robot publishes under (`tonypi/sensors/{id}` …), as the embedded broker's ACL has them.
    ...LEGACY_CHANNEL_WORDS.map((word) => `${TOPIC_ROOT}/${word}/${robot_id}`)
      .filter((topic) => robotMayPublish(robot_id, topic))
      .map((topic) => send(topic)),
    ...robotSubscriptions(robot_id).map(
      (topic): DynsecAcl => ({ acltype: 'subscribeLiteral', topic, allow: true, priority: 5 }),
    ),
  ];
}

/**
 * The server's role: read every robot topic, through the shared group (the subscribe check sees the whole
 * `$share/<group>/…` filter) and plainly (the observer connection), and publish commands, configs, item
 * answers and broadcasts. Only the server's login has it: a robot's role grants no `$share` filter, so no
 * robot can join the group and take a share of the telemetry.
 */
export function serverRoleAcls(sharedGroup: string | undefined): DynsecAcl[] {
  const acl = (acltype: DynsecAcl['acltype'], topic: string): DynsecAcl => ({
    acltype,
    topic,
    allow: true,
    priority: 0,
  });
  const read = `${TOPIC_ROOT}/#`;
  return [
    acl('subscribePattern', read),
    ...(sharedGroup ? [acl('subscribePattern', `$share/${sharedGroup}/${read}`)] : []),
    acl('publishClientReceive', read),
    acl('publishClientSend', read),
  ];
}

/** Same ACL (the plugin keys them by type and topic). */
export const aclKey = (a: Pick<DynsecAcl, 'acltype' | 'topic'>): string => `${a.acltype} ${a.topic}`;
