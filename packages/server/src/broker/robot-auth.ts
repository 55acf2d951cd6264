import { robotMayPublish, robotMaySubscribe } from '@tonypi/contracts';
import type { Authentication, BrokerAuth } from './embedded-broker';

/** What the broker needs to know about robots' credentials (robots/robot-credentials.ts holds them). */
export interface RobotAccess {
  verify(robot_id: string, password: Buffer | undefined): boolean;
  hasCredentials(robot_id: string): boolean;
  isDeleted(robot_id: string): boolean;
}

/**
 * The robot ACL of the embedded broker (issue #12 §2). A robot with credentials connects with username = its
 * id = its client id and its secret; without credentials (ALLOW_ANONYMOUS_ROBOTS) its identity is its client
 * id, and an id that has credentials is never accepted anonymously. Either way it publishes only on its own
 * topics and subscribes only to its own command topics and the broadcasts (`robotMayPublish`,
 * `robotMaySubscribe` in contracts); a deleted robot is refused, at connect and for anything it still sends.
 */
export function robotAuth(opts: { access: RobotAccess; allowAnonymous: boolean }): BrokerAuth {
  const { access, allowAnonymous } = opts;
  return {
    authenticate(clientId, username, password): Authentication {
      if (username !== undefined) {
        if (username !== clientId) return { ok: false, refusal: 'client_id_mismatch' };
        if (access.isDeleted(username)) return { ok: false, refusal: 'robot_deleted' };
        if (!access.verify(username, password)) return { ok: false, refusal: 'bad_credentials' };
        return { ok: true, identity: username, anonymous: false };
      }
      if (!allowAnonymous) return { ok: false, refusal: 'anonymous_refused' };
      if (access.isDeleted(clientId)) return { ok: false, refusal: 'robot_deleted' };
      if (access.hasCredentials(clientId)) return { ok: false, refusal: 'credentials_required' };
      return { ok: true, identity: clientId, anonymous: true };
    },
    mayPublish: (identity, topic) => !access.isDeleted(identity) && robotMayPublish(identity, topic),
    maySubscribe: (identity, filter) => robotMaySubscribe(identity, filter),
  };
}
