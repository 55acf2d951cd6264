import { isIngestTopic, robotMayPublish, robotMaySubscribe } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { type DynsecAcl, robotRoleAcls, serverRoleAcls } from './dynsec-acls';

/** MQTT topic matching as Mosquitto does it for an ACL's topic (a filter) against a published topic. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** The plugin's decision for a publish: the highest-priority matching ACL, else the default (deny). */
function mayPublish(acls: readonly DynsecAcl[], topic: string): boolean {
  const hit = acls
    .filter((a) => a.acltype === 'publishClientSend' && matches(a.topic, topic))
    .sort((a, b) => b.priority - a.priority)[0];
  return hit?.allow ?? false;
}

/** A subscribe under `subscribeLiteral`: the filter must be the ACL's topic, character for character. */
function maySubscribe(acls: readonly DynsecAcl[], filter: string): boolean {
  return acls.some((a) => a.acltype === 'subscribeLiteral' && a.allow && a.topic === filter);
}

const PUBLISHED = [
  'tonypi/tp01/telemetry',
  'tonypi/tp01/status',
  'tonypi/tp01/log',
  'tonypi/tp01/command/response',
  'tonypi/tp01/command',
  'tonypi/tp01/config',
  'tonypi/tp01/x/y',
  'tonypi/tp02/telemetry',
  'tonypi/sensors/tp01',
  'tonypi/servos/tp01',
  'tonypi/status/tp01',
  'tonypi/sensors/tp02',
  'tonypi/commands/tp01',
  'tonypi/emergency_stop/tp01',
  'tonypi/items/tp01',
  'tonypi/system/broadcast',
];
const FILTERS = [
  'tonypi/tp01/command',
  'tonypi/tp01/config',
  'tonypi/commands/tp01',
  'tonypi/emergency_stop/tp01',
  'tonypi/items/tp01',
  'tonypi/system/broadcast',
  'tonypi/commands/broadcast',
  'tonypi/tp02/command',
  'tonypi/tp01/#',
  'tonypi/#',
  '#',
  '$share/tonypi-ingest/tonypi/+/+',
];

describe('robotRoleAcls', () => {
  const acls = robotRoleAcls('tp01');

  it('allows a publish where the embedded broker does and the server reads it (legacy topics naming no robot aside)', () => {
    for (const topic of PUBLISHED) {
      const expected = robotMayPublish('tp01', topic) && isIngestTopic(topic);
      expect(mayPublish(acls, topic), topic).toBe(expected);
    }
    for (const shared of ['tonypi/battery', 'tonypi/location', 'tonypi/commands/response']) {
      expect(mayPublish(acls, shared), shared).toBe(false);
    }
  });

  it('allows a subscription exactly where the embedded broker does: no wildcard, no $share', () => {
    for (const filter of FILTERS)
      expect(maySubscribe(acls, filter), filter).toBe(robotMaySubscribe('tp01', filter));
  });
});

describe('serverRoleAcls', () => {
  it("grants the server's shared group and plain reads, and no other group", () => {
    const topics = serverRoleAcls('tonypi-ingest')
      .filter((a) => a.acltype === 'subscribePattern')
      .map((a) => a.topic);
    expect(topics.sort()).toEqual(['$share/tonypi-ingest/tonypi/#', 'tonypi/#']);
    expect(serverRoleAcls(undefined).some((a) => a.topic.startsWith('$share'))).toBe(false);
  });
});
