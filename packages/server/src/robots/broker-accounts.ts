/**
 * Robots' accounts on an external broker that the server manages (Mosquitto's dynamic-security plugin,
 * broker/dynsec/): the broker checks each robot's password and ACL itself, so every change to a robot's
 * credentials must reach it. Each call is idempotent — a repeat, or another server instance doing the same
 * at once, leaves the same state — and throws when the broker did not take the change.
 */
export interface BrokerAccounts {
  /** A registered, claimed or rotated robot: its client and role (created when missing), this password, enabled. */
  provision(robot_id: string, secret: string): Promise<void>;
  /** A deleted robot: refused at connect, its open session closed. */
  disable(robot_id: string): Promise<void>;
  /** A restored robot: its password works again (if the broker has one for it). */
  enable(robot_id: string): Promise<void>;
}
