import type {
  ConfiguredSsh,
  PutRobotSshRequest,
  RobotSshSettings,
  SshSession,
  SshTestResult,
} from '@tonypi/contracts';
import ssh2 from 'ssh2';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import { ApiError, notFound, validationError } from '../errors';
import type { RobotRow } from '../robots/robots.repository';
import type { SecretBox } from '../secret-box';
import type { SshRepository, SshSettingsRow } from './ssh.repository';
import { connectSsh, type PresentedHostKey, SshFailure, type SshTarget } from './ssh-connect';

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

interface SealedSecrets {
  password?: string;
  private_key?: string;
  passphrase?: string;
}

export interface SshServiceOptions {
  repo: SshRepository;
  box: SecretBox;
  audit: AuditTrail;
  requireRobot: (robot_id: string) => Promise<RobotRow>;
  /** The robot's IP address as it last reported it (the live registry's, else the stored one). */
  reportedIp: (robot: RobotRow) => string | null;
  connectTimeoutMs: number;
}

/** What a terminal needs to connect, checked: settings exist, secrets open, a host is known. */
export interface TerminalPlan {
  target: SshTarget;
  transcript: boolean;
}

const notConfigured = (robot_id: string) =>
  new ApiError(
    409,
    'ssh_not_configured',
    `Robot ${robot_id} has no SSH settings: an operator sets them with PUT /api/v1/robots/${robot_id}/ssh ` +
      '(username, and a password or a private key) in the robot page’s Terminal tab',
  );

/**
 * Robots' SSH settings — secrets sealed with SECRETS_KEY and never read back through the API — and the host
 * keys pinned on first use.
 */
export class SshService {
  constructor(private readonly opts: SshServiceOptions) {}

  async get(robot_id: string): Promise<RobotSshSettings> {
    const robot = await this.opts.requireRobot(robot_id);
    const row = await this.opts.repo.settings(robot.robot_id);
    if (!row)
      return { robot_id: robot.robot_id, configured: false, effective_host: this.opts.reportedIp(robot) };
    return this.toDto(row, robot);
  }

  async put(robot_id: string, body: PutRobotSshRequest, auditor: Auditor): Promise<ConfiguredSsh> {
    const robot = await this.opts.requireRobot(robot_id);
    const existing = await this.opts.repo.settings(robot.robot_id);
    let kept: SealedSecrets = {};
    if (existing && (body.password === undefined || body.private_key === undefined)) {
      try {
        kept = this.open(existing);
      } catch {
        kept = {}; // unreadable (another SECRETS_KEY): only what this request sets is kept
      }
    }
    const secrets: SealedSecrets = {};
    const password = body.password === undefined ? kept.password : (body.password ?? undefined);
    if (password !== undefined) secrets.password = password;
    const privateKey = body.private_key === undefined ? kept.private_key : (body.private_key ?? undefined);
    let privateKeyType: string | null = null;
    if (privateKey !== undefined) {
      const passphrase =
        body.passphrase === undefined
          ? body.private_key === undefined
            ? kept.passphrase
            : undefined
          : (body.passphrase ?? undefined);
      const parsed = ssh2.utils.parseKey(privateKey, passphrase);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!key || key instanceof Error || !key.isPrivateKey()) {
        const why = key instanceof Error ? key.message : 'not a private key';
        throw validationError([
          {
            field: body.private_key === undefined ? 'body.passphrase' : 'body.private_key',
            message: `cannot be read as an OpenSSH or PEM private key (${why.slice(0, 120)})`,
          },
        ]);
      }
      secrets.private_key = privateKey;
      if (passphrase) secrets.passphrase = passphrase;
      privateKeyType = key.type;
    }
    if (secrets.password === undefined && secrets.private_key === undefined) {
      throw validationError([
        { field: 'body.password', message: 'set a password or a private_key (or both)' },
      ]);
    }
    const row = await this.opts.repo.upsert({
      robot_id: robot.robot_id,
      host: body.host ?? null,
      port: body.port,
      username: body.username,
      secrets_sealed: this.opts.box.seal({ ...secrets }),
      has_password: secrets.password !== undefined,
      private_key_type: privateKeyType,
      transcript: body.transcript,
      updated_by: auditor.actor.name,
    });
    await this.opts.audit.record({
      ...auditor,
      action: existing ? 'robot.ssh.update' : 'robot.ssh.create',
      target: { type: 'robot', id: robot.robot_id },
      outcome: 'success',
      details: {
        host: row.host,
        port: row.port,
        username: row.username,
        auth: [secrets.password !== undefined && 'password', privateKeyType].filter(Boolean),
        transcript: row.transcript,
        host_key_forgotten: Boolean(existing?.host_key_sha256) && !row.host_key_sha256,
      },
    });
    return this.toDto(row, robot);
  }

  async remove(robot_id: string, auditor: Auditor): Promise<void> {
    const robot = await this.opts.requireRobot(robot_id);
    if (!(await this.opts.repo.remove(robot.robot_id))) throw notConfigured(robot.robot_id);
    await this.opts.audit.record({
      ...auditor,
      action: 'robot.ssh.delete',
      target: { type: 'robot', id: robot.robot_id },
      outcome: 'success',
    });
  }

  /** Forgets the pinned host key (an admin's answer to a reinstalled robot): the next connection pins anew. */
  async retrust(robot_id: string, auditor: Auditor): Promise<ConfiguredSsh> {
    const robot = await this.opts.requireRobot(robot_id);
    const before = await this.opts.repo.settings(robot.robot_id);
    if (!before) throw notConfigured(robot.robot_id);
    const row = (await this.opts.repo.clearHostKey(robot.robot_id))!;
    await this.opts.audit.record({
      ...auditor,
      action: 'robot.ssh.retrust',
      target: { type: 'robot', id: robot.robot_id },
      outcome: 'success',
      details: { forgotten: before.host_key_sha256, type: before.host_key_type },
    });
    return this.toDto(row, robot);
  }

  /** Where and how a terminal to the robot connects; throws 404 / 409 with what to do. */
  async plan(robot_id: string): Promise<TerminalPlan & { robot: RobotRow }> {
    const robot = await this.opts.requireRobot(robot_id);
    const row = await this.opts.repo.settings(robot.robot_id);
    if (!row) throw notConfigured(robot.robot_id);
    const host = row.host ?? this.opts.reportedIp(robot);
    if (!host) {
      throw new ApiError(
        409,
        'ssh_not_configured',
        `Robot ${robot.robot_id} has reported no IP address yet: set "host" in its SSH settings`,
      );
    }
    let secrets: SealedSecrets;
    try {
      secrets = this.open(row);
    } catch {
      throw new ApiError(
        409,
        'ssh_secrets_unreadable',
        `The SSH password or key of robot ${robot.robot_id} was sealed with another SECRETS_KEY: set them again`,
      );
    }
    return {
      robot,
      transcript: row.transcript,
      target: {
        host,
        port: row.port,
        username: row.username,
        password: secrets.password,
        privateKey: secrets.private_key,
        passphrase: secrets.passphrase,
        pinnedFingerprint: row.host_key_sha256 ?? undefined,
      },
    };
  }

  /** Pins the key on first use; a key pinned meanwhile by another connection must be this one. */
  async pin(robot_id: string, key: PresentedHostKey): Promise<void> {
    if (await this.opts.repo.pinHostKey(robot_id, key)) return;
    const now = await this.opts.repo.settings(robot_id);
    if (now?.host_key_sha256 && now.host_key_sha256 !== key.fingerprint) {
      throw new SshFailure(
        'ssh_host_key_mismatch',
        `Another host key (${now.host_key_sha256}) was pinned meanwhile`,
      );
    }
  }

  /**
   * Connects, authenticates and disconnects (no shell): the settings work, or the failure's code and message
   * (502 for the robot's answer, 504 for none). Pins the host key on first use, like a terminal.
   */
  async test(robot_id: string, auditor: Auditor): Promise<SshTestResult> {
    const { robot, target } = await this.plan(robot_id);
    const started = performance.now();
    try {
      const { client, hostKey, firstUse } = await connectSsh(target, {
        timeoutMs: this.opts.connectTimeoutMs,
      });
      client.end();
      if (firstUse) await this.pin(robot.robot_id, hostKey);
      await this.opts.audit.record({
        ...auditor,
        action: 'robot.ssh.test',
        target: { type: 'robot', id: robot.robot_id },
        outcome: 'success',
        details: {
          host: target.host,
          port: target.port,
          fingerprint: hostKey.fingerprint,
          first_use: firstUse,
        },
      });
      return {
        ok: true,
        host: target.host,
        port: target.port,
        host_key: { ...hostKey, pinned_at: new Date().toISOString() },
        first_use: firstUse,
        connect_ms: Math.round(performance.now() - started),
      };
    } catch (err) {
      const failure = err instanceof SshFailure ? err : new SshFailure('ssh_error', String(err));
      await this.opts.audit.record({
        ...auditor,
        action: 'robot.ssh.test',
        target: { type: 'robot', id: robot.robot_id },
        outcome: 'failure',
        details: { host: target.host, port: target.port, code: failure.code },
      });
      const status = failure.code === 'ssh_timeout' || failure.code === 'ssh_unreachable' ? 504 : 502;
      throw new ApiError(
        status,
        failure.code,
        failure.message,
        failure.hostKey ? { presented: failure.hostKey } : undefined,
      );
    }
  }

  async sessions(robot_id: string, limit = 100): Promise<SshSession[]> {
    const robot = await this.opts.requireRobot(robot_id);
    return this.opts.repo.sessions(robot.robot_id, limit);
  }

  async transcript(session_id: string): Promise<{ session: SshSession; text: Buffer }> {
    const found = await this.opts.repo.session(session_id);
    if (!found) throw notFound('ssh_session_not_found', `No terminal session with id ${session_id}`);
    const { transcript, ...session } = found;
    if (!transcript) {
      throw notFound(
        'ssh_session_not_found',
        `Session ${session_id} kept no transcript (the robot's SSH settings had transcript off)`,
      );
    }
    return { session, text: transcript };
  }

  private open(row: SshSettingsRow): SealedSecrets {
    return this.opts.box.open(row.secrets_sealed) as SealedSecrets;
  }

  private toDto(row: SshSettingsRow, robot: RobotRow): ConfiguredSsh {
    return {
      robot_id: row.robot_id,
      configured: true,
      host: row.host,
      effective_host: row.host ?? this.opts.reportedIp(robot),
      port: row.port,
      username: row.username,
      has_password: row.has_password,
      has_private_key: row.private_key_type !== null,
      private_key_type: row.private_key_type,
      transcript: row.transcript,
      host_key:
        row.host_key_sha256 && row.host_key_type && row.host_key_pinned_at
          ? {
              type: row.host_key_type,
              fingerprint: row.host_key_sha256,
              pinned_at: row.host_key_pinned_at.toISOString(),
            }
          : null,
      updated_at: row.updated_at.toISOString(),
      updated_by: row.updated_by,
    };
  }
}
