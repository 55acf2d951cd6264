import type { Logger } from '../../logger';
import type { BrokerAccounts } from '../../robots/broker-accounts';
import type { CredentialRow } from '../../robots/robot-admin.repository';
import {
  aclKey,
  type DynsecAcl,
  robotRoleAcls,
  robotRoleName,
  SERVER_ROLE,
  serverRoleAcls,
} from './dynsec-acls';
import { type DynsecCommand, type DynsecControl, DynsecError } from './dynsec-control';

const CLIENT_EXISTS = 'Client already exists';
const CLIENT_NOT_FOUND = 'Client not found';
const ROLE_EXISTS = 'Role already exists';
const ROLE_NOT_FOUND = 'Role not found';
const ACL_EXISTS = 'ACL with this topic already exists';
const ACL_NOT_FOUND = 'ACL not found';
/** How many commands go in one control message when reconciling a fleet. */
const BATCH = 100;

interface BrokerClient {
  username: string;
  roles: string[];
  disabled: boolean;
}

/** What a reconcile changed, for the start-up log (robot ids only, never a secret). */
export interface ReconcileReport {
  robots: number;
  /** Clients created without a password: the database keeps a hash only, so these robots need a rotation. */
  created_without_password: string[];
  /** Robots whose name a client the server does not manage holds: left alone, the robot cannot connect. */
  foreign: string[];
  disabled: number;
  roles_fixed: number;
}

/**
 * Robots' clients and roles in Mosquitto's dynamic-security plugin (issue #9 §2): client = the robot's id
 * (username and client id), role `tonypi-robot-{id}` = its ACL (dynsec-acls.ts). The server's own login gets
 * role `tonypi-server`. Every command tolerates the errors that mean "already so" ("Client already exists"
 * …), which makes each call, and a whole reconcile, safe to repeat and safe for several servers at once.
 */
export class DynsecAccounts implements BrokerAccounts {
  /** Robots whose broker client has no password since a reconcile (health lists them until they are rotated). */
  readonly withoutPassword = new Set<string>();

  constructor(
    private readonly control: DynsecControl,
    private readonly logger: Logger,
  ) {}

  async provision(robot_id: string, secret: string): Promise<void> {
    const rolename = robotRoleName(robot_id);
    const [role, client] = await this.control.expect(
      [
        { command: 'createRole', rolename, acls: robotRoleAcls(robot_id) },
        {
          command: 'createClient',
          username: robot_id,
          clientid: robot_id,
          password: secret,
          roles: [{ rolename }],
        },
      ],
      { createRole: [ROLE_EXISTS], createClient: [CLIENT_EXISTS] },
    );
    if (role?.error) await this.syncRole(rolename, robotRoleAcls(robot_id), true);
    if (!client?.error) {
      this.withoutPassword.delete(robot_id);
      return;
    }
    // It was there: made by a reconcile without a password, by another instance doing the same, or by an
    // earlier registration. Only a client with the robot's role is the server's to take over: never an
    // operator's (or the admin's) that happens to have the robot's name.
    const existing = await this.getClient(robot_id);
    if (!existing?.roles.includes(rolename)) {
      throw new DynsecError(
        'createClient',
        `the broker has a client ${robot_id} that the server does not manage (no role ${rolename})`,
      );
    }
    // A new password also closes the robot's open session (the plugin kicks it).
    await this.control.expect([
      { command: 'setClientPassword', username: robot_id, password: secret },
      { command: 'enableClient', username: robot_id },
    ]);
    this.withoutPassword.delete(robot_id);
  }

  async disable(robot_id: string): Promise<void> {
    // Disabling also closes the robot's session (the plugin kicks it).
    await this.control.expect([{ command: 'disableClient', username: robot_id }], {
      disableClient: [CLIENT_NOT_FOUND],
    });
  }

  async enable(robot_id: string): Promise<void> {
    const [answer] = await this.control.expect([{ command: 'enableClient', username: robot_id }], {
      enableClient: [CLIENT_NOT_FOUND],
    });
    if (answer?.error) {
      this.logger.warn({ robot_id }, 'robot restored but unknown to the broker: rotate its credentials');
    }
  }

  /**
   * The server's own login: created with MQTT_PASSWORD when the broker does not have it, and given role
   * `tonypi-server` (its ACLs added when missing; ones an operator added are left).
   */
  async ensureServer(opts: { username: string; password?: string; sharedGroup?: string }): Promise<void> {
    const acls = serverRoleAcls(opts.sharedGroup);
    const [role] = await this.control.expect([{ command: 'createRole', rolename: SERVER_ROLE, acls }], {
      createRole: [ROLE_EXISTS],
    });
    if (role?.error) await this.syncRole(SERVER_ROLE, acls, false);
    const existing = await this.getClient(opts.username);
    if (!existing) {
      if (opts.password === undefined) {
        throw new Error(
          `The broker has no client ${opts.username} (MQTT_USERNAME) and MQTT_PASSWORD is unset`,
        );
      }
      await this.control.expect(
        [
          {
            command: 'createClient',
            username: opts.username,
            password: opts.password,
            roles: [{ rolename: SERVER_ROLE }],
          },
        ],
        { createClient: [CLIENT_EXISTS] },
      );
    } else if (!existing.roles.includes(SERVER_ROLE)) {
      await this.control.expect([
        { command: 'addClientRole', username: opts.username, rolename: SERVER_ROLE },
      ]);
    }
  }

  /**
   * Makes the broker's robot clients match the robots table: every robot with credentials has its client
   * and role (ACLs corrected); deleted robots, and clients of robots the table does not know, are disabled.
   * Nothing is ever enabled here (registering, rotating and restoring do that), so a reconcile racing another
   * instance's change can only leave a robot refused, never let a deleted one in.
   */
  async reconcile(rows: readonly CredentialRow[]): Promise<ReconcileReport> {
    const clients = await this.listClients();
    const report: ReconcileReport = {
      robots: 0,
      created_without_password: [],
      foreign: [],
      disabled: 0,
      roles_fixed: 0,
    };
    const known = new Set<string>();
    const commands: DynsecCommand[] = [];
    const tolerated = {
      createRole: [ROLE_EXISTS],
      createClient: [CLIENT_EXISTS],
      disableClient: [CLIENT_NOT_FOUND],
    };
    const rolesToSync: string[] = [];
    for (const row of rows) {
      known.add(row.robot_id);
      const client = clients.get(row.robot_id);
      const rolename = robotRoleName(row.robot_id);
      const ours = client?.roles.includes(rolename) === true;
      if (client && !ours) {
        report.foreign.push(row.robot_id);
        continue;
      }
      if (row.secret_hash !== null) {
        report.robots++;
        if (ours) rolesToSync.push(row.robot_id);
        else commands.push({ command: 'createRole', rolename, acls: robotRoleAcls(row.robot_id) });
        if (!client) {
          commands.push({
            command: 'createClient',
            username: row.robot_id,
            clientid: row.robot_id,
            roles: [{ rolename }],
          });
          report.created_without_password.push(row.robot_id);
        }
      }
      if (client && row.deleted && !client.disabled) {
        commands.push({ command: 'disableClient', username: row.robot_id });
        report.disabled++;
      }
    }
    for (const client of clients.values()) {
      const ours = client.roles.includes(robotRoleName(client.username));
      if (ours && !known.has(client.username) && !client.disabled) {
        commands.push({ command: 'disableClient', username: client.username });
        report.disabled++;
      }
    }
    for (let i = 0; i < commands.length; i += BATCH) {
      await this.control.expect(commands.slice(i, i + BATCH), tolerated);
    }
    for (const robot_id of rolesToSync) {
      if (await this.syncRole(robotRoleName(robot_id), robotRoleAcls(robot_id), true)) report.roles_fixed++;
    }
    if (report.foreign.length > 0) {
      this.logger.warn(
        { robots: report.foreign },
        'robots whose name a broker client the server does not manage holds: left alone, these robots cannot connect',
      );
    }
    for (const robot_id of report.created_without_password) this.withoutPassword.add(robot_id);
    if (report.created_without_password.length > 0) {
      this.logger.warn(
        { robots: report.created_without_password },
        'robots with credentials the broker did not have: their clients are created without a password, rotate their credentials',
      );
    }
    return report;
  }

  /** Adds the ACLs a role lacks (and removes the ones it should not have, when `exact`); whether it changed. */
  private async syncRole(rolename: string, wanted: readonly DynsecAcl[], exact: boolean): Promise<boolean> {
    const [answer] = await this.control.expect([{ command: 'getRole', rolename }], {
      getRole: [ROLE_NOT_FOUND],
    });
    const role = answer?.data?.role as { acls?: DynsecAcl[] } | undefined;
    const have = new Map((role?.acls ?? []).map((a) => [aclKey(a), a]));
    const want = new Map(wanted.map((a) => [aclKey(a), a]));
    const commands: DynsecCommand[] = [];
    for (const [key, acl] of want) {
      const current = have.get(key);
      if (current && current.allow === acl.allow && current.priority === acl.priority) continue;
      if (current)
        commands.push({ command: 'removeRoleACL', rolename, acltype: acl.acltype, topic: acl.topic });
      commands.push({ command: 'addRoleACL', rolename, ...acl });
    }
    if (exact) {
      for (const [key, acl] of have) {
        if (!want.has(key)) {
          commands.push({ command: 'removeRoleACL', rolename, acltype: acl.acltype, topic: acl.topic });
        }
      }
    }
    // Another instance may be making the same corrections at this moment.
    await this.control.expect(commands, { addRoleACL: [ACL_EXISTS], removeRoleACL: [ACL_NOT_FOUND] });
    return commands.length > 0;
  }

  private async getClient(username: string): Promise<BrokerClient | undefined> {
    const [answer] = await this.control.expect([{ command: 'getClient', username }], {
      getClient: [CLIENT_NOT_FOUND],
    });
    return answer?.error ? undefined : toClient(answer?.data?.client);
  }

  private async listClients(): Promise<Map<string, BrokerClient>> {
    const out = new Map<string, BrokerClient>();
    for (let offset = 0; ; offset += 1000) {
      const [answer] = await this.control.expect([
        { command: 'listClients', verbose: true, count: 1000, offset },
      ]);
      const data = answer?.data as { clients?: unknown[]; totalCount?: number } | undefined;
      const page = (data?.clients ?? []).map(toClient).filter((c): c is BrokerClient => c !== undefined);
      for (const client of page) out.set(client.username, client);
      if (page.length < 1000 || out.size >= (data?.totalCount ?? 0)) return out;
    }
  }
}

function toClient(raw: unknown): BrokerClient | undefined {
  const c = raw as
    | { username?: unknown; roles?: Array<{ rolename?: unknown }>; disabled?: unknown }
    | undefined;
  if (typeof c?.username !== 'string') return undefined;
  return {
    username: c.username,
    roles: (c.roles ?? []).map((r) => String(r.rolename)),
    disabled: c.disabled === true,
  };
}
