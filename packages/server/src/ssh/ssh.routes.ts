import { randomUUID } from 'node:crypto';
import type {} from '@fastify/websocket';
import {
  ConfiguredSsh,
  ErrorBody,
  PutRobotSshRequest,
  RobotIdParams,
  RobotSshSettings,
  SSH_ERROR_CODES,
  SshSessionList,
  SshSessionParams,
  SshTestResult,
  TERMINAL_MAX_COLS,
  TERMINAL_MAX_ROWS,
} from '@tonypi/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditTrail } from '../audit/audit-trail';
import { requestAuditor } from '../audit/audit-trail';
import type { Session } from '../auth/sessions';
import { ApiError } from '../errors';
import { websocketHandshake } from '../http/websocket-handshake';
import type { SshRepository } from './ssh.repository';
import type { SshService, TerminalPlan } from './ssh.service';
import { TerminalBridge } from './terminal-bridge';
import type { TerminalSessions } from './terminal-sessions';

export interface SshRoutesOptions {
  ssh: SshService;
  repo: SshRepository;
  audit: AuditTrail;
  terminals: TerminalSessions;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

/** What a terminal's transcript keeps at most (its output). */
export const TRANSCRIPT_MAX_BYTES = 1 << 20;

const TerminalQuery = z.object({
  cols: z.coerce.number().int().min(1).max(TERMINAL_MAX_COLS).default(80),
  rows: z.coerce.number().int().min(1).max(TERMINAL_MAX_ROWS).default(24),
});

const SSH_FAILURES = `Connection failures: ${SSH_ERROR_CODES.map((c) => `\`${c}\``).join(', ')}.`;

export function sshRoutes(opts: SshRoutesOptions): FastifyPluginAsyncZod {
  const { ssh, terminals } = opts;
  const plans = new WeakMap<FastifyRequest, TerminalPlan>();
  return async (app) => {
    // Before the HTTP server closes its sockets: each terminal's last frame says why, and its record is written.
    app.beforeSocketsClose(() => terminals.endAll());

    app.get(
      '/robots/:robot_id/ssh',
      {
        config: { permission: 'robots:terminal' },
        schema: {
          tags: ['terminal'],
          summary:
            "A robot's SSH settings (secrets never shown: only whether they are set) and its pinned host key",
          params: RobotIdParams,
          response: {
            200: RobotSshSettings,
            404: ErrorBody,
            409: ErrorBody.describe('`ssh_not_configured`'),
          },
        },
      },
      async (req) => ssh.get(req.params.robot_id),
    );

    app.put(
      '/robots/:robot_id/ssh',
      {
        config: { permission: 'robots:terminal' },
        schema: {
          tags: ['terminal'],
          summary: "Sets a robot's SSH settings",
          description:
            'The password and the private key are sealed with SECRETS_KEY and never returned. Left out, a stored ' +
            'one is kept; null removes it; at least one must remain. A private key ssh2 cannot read (or whose ' +
            'passphrase is wrong) is refused, 400. A new host or port forgets the pinned host key. Audited as ' +
            '`robot.ssh.create` / `robot.ssh.update` (without secrets).',
          params: RobotIdParams,
          body: PutRobotSshRequest,
          response: { 200: ConfiguredSsh, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => ssh.put(req.params.robot_id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/robots/:robot_id/ssh',
      {
        config: { permission: 'robots:terminal' },
        schema: {
          tags: ['terminal'],
          summary: "Removes a robot's SSH settings (and its pinned host key)",
          params: RobotIdParams,
          response: { 204: z.null(), 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        await ssh.remove(req.params.robot_id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/robots/:robot_id/ssh/retrust',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['terminal'],
          summary: "Forgets a robot's pinned host key: the next connection pins the key the robot presents",
          description:
            'For a robot whose SSH host key changed for a known reason (reinstalled, new SD card). Audited as ' +
            '`robot.ssh.retrust` with the forgotten fingerprint.',
          params: RobotIdParams,
          response: { 200: ConfiguredSsh, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => ssh.retrust(req.params.robot_id, requestAuditor(req)),
    );

    app.post(
      '/robots/:robot_id/ssh/test',
      {
        config: { permission: 'robots:terminal' },
        schema: {
          tags: ['terminal'],
          summary: 'Connects and signs in with the settings, then disconnects: do they work?',
          description: `Pins the host key on first use, like a terminal. ${SSH_FAILURES} 502 when the robot answered (refused, bad login, other key), 504 when it did not.`,
          params: RobotIdParams,
          response: { 200: SshTestResult, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody, 504: ErrorBody },
        },
      },
      async (req) => ssh.test(req.params.robot_id, requestAuditor(req)),
    );

    app.get(
      '/robots/:robot_id/ssh/sessions',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['terminal'],
          summary:
            "A robot's terminal sessions, newest first (at most 100): who, from where, how long, bytes each way",
          description:
            'A session with `ended_at` null is open, or was cut by a server that stopped abruptly.',
          params: RobotIdParams,
          response: { 200: SshSessionList, 404: ErrorBody },
        },
      },
      async (req) => ({ items: await ssh.sessions(req.params.robot_id) }),
    );

    app.get(
      '/ssh/sessions/:session_id/transcript',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['terminal'],
          summary: "What a session's terminal showed (its output, at most 1 MB), as text",
          description: 'Only for sessions of robots whose SSH settings keep a transcript.',
          params: SshSessionParams,
          produces: ['text/plain'],
          response: { 200: z.string(), 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const { session, text } = await ssh.transcript(req.params.session_id);
        return reply
          .header('content-type', 'text/plain; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="terminal-${session.robot_id}-${session.started_at.slice(0, 19).replace(/:/g, '')}.txt"`,
          )
          .send(text.toString('utf8'));
      },
    );

    app.get(
      '/robots/:robot_id/terminal',
      {
        websocket: true,
        config: { permission: 'robots:terminal' },
        onRequest: websocketHandshake,
        // Everything that can be refused is refused before the upgrade, with a status and the API's envelope.
        preHandler: async (req) => {
          const { robot_id } = req.params as { robot_id: string };
          const plan = await ssh.plan(robot_id);
          const user = req.user as Session;
          if (!terminals.mayOpen(user.user_id)) {
            throw new ApiError(
              429,
              'ssh_session_limit',
              `You have ${terminals.limit} terminals open already (SSH_MAX_SESSIONS_PER_USER): close one first`,
            );
          }
          plans.set(req, plan);
        },
        schema: {
          tags: ['terminal'],
          summary: 'A terminal on the robot (WebSocket ↔ SSH)',
          description:
            'Signed in like any route (the session cookie, or Authorization: Bearer on the upgrade): no ' +
            'credentials in the URL. `cols`/`rows` size the first PTY. Frames, JSON text: browser → server ' +
            '`{"type":"input","data":"…"}` (≤ 64 KB) and `{"type":"resize","cols","rows"}`; server → browser ' +
            '`{"type":"output","data"}`, `{"type":"status","state":"connecting|connected|closed",…}` (connected ' +
            'carries the host key and `first_use`; closed a `reason`) and `{"type":"error","code","message"}`. ' +
            `${SSH_FAILURES} A malformed frame gets \`bad_frame\` and the terminal stays open. Closed after ` +
            'SSH_IDLE_TIMEOUT_S without input or output, and (code 4401) when the session ends. Each session is ' +
            'recorded (GET /robots/{id}/ssh/sessions) and audited as `robot.terminal.open`.',
          params: RobotIdParams,
          querystring: TerminalQuery,
          response: {
            404: ErrorBody,
            409: ErrorBody.describe('`ssh_not_configured` (with what to set) or `ssh_secrets_unreadable`'),
            426: ErrorBody,
            429: ErrorBody.describe('`ssh_session_limit`'),
          },
        },
      },
      (socket, req) => {
        const plan = plans.get(req);
        if (!plan) {
          socket.close(1011, 'no plan');
          return;
        }
        const user = req.user as Session;
        const query = req.query as z.infer<typeof TerminalQuery>;
        const sessionId = randomUUID();
        const auditor = requestAuditor(req);
        const at = `${plan.target.host}:${plan.target.port}`;
        const { robot_id } = req.params as { robot_id: string };
        const started = opts.repo
          .startSession({
            id: sessionId,
            robot_id,
            user_id: user.user_id,
            username: user.username,
            remote_addr: req.ip,
            host: at,
          })
          .catch((err) => req.log.error({ err }, 'terminal session record failed'));
        let unwatch = () => {};
        let expiry: ReturnType<typeof setTimeout> | undefined;
        const bridge = new TerminalBridge({
          socket,
          target: plan.target,
          sessionId,
          cols: query.cols,
          rows: query.rows,
          connectTimeoutMs: opts.connectTimeoutMs,
          idleTimeoutMs: opts.idleTimeoutMs,
          transcriptBytes: plan.transcript ? TRANSCRIPT_MAX_BYTES : 0,
          logger: req.log,
          onFirstUse: (key) => ssh.pin(robot_id, key),
          onConnected: (result) => {
            void opts.audit.record({
              ...auditor,
              action: 'robot.terminal.open',
              target: { type: 'robot', id: robot_id },
              outcome: result.ok ? 'success' : 'failure',
              details: result.ok
                ? { session_id: sessionId, host: at, fingerprint: result.hostKey.fingerprint }
                : { session_id: sessionId, host: at, code: result.failure.code },
            });
          },
          onEnd: (outcome) => {
            unwatch();
            clearTimeout(expiry);
            terminals.remove(
              bridge,
              { in: outcome.bytesIn, out: outcome.bytesOut },
              outcome.errorCode !== null,
            );
            req.log.info(
              {
                robot_id,
                session_id: sessionId,
                reason: outcome.reason,
                bytes_in: outcome.bytesIn,
                bytes_out: outcome.bytesOut,
              },
              'terminal closed',
            );
            const write = started.then(() =>
              opts.repo
                .endSession(sessionId, {
                  bytes_in: outcome.bytesIn,
                  bytes_out: outcome.bytesOut,
                  end_reason: outcome.reason,
                  error_code: outcome.errorCode,
                  transcript: outcome.transcript,
                })
                .catch((err) => req.log.error({ err }, 'terminal session record failed')),
            );
            terminals.track(write);
          },
        });
        terminals.add(bridge, user.user_id);
        // The session that opened the terminal must stay good: a logout, a disabled user or a new role ends it.
        const endSession = (message: string) => bridge.fail('unauthorized', message);
        unwatch = app.sessions.watch(() => {
          app.sessions
            .recheck(user)
            .catch((err: Error) => endSession(`${err.message}: the terminal was closed`));
        });
        const remaining = app.sessions.remainingMs(user);
        if (Number.isFinite(remaining)) {
          expiry = setTimeout(
            () => endSession('Session expired: sign in again to open a new terminal'),
            Math.max(0, Math.min(remaining, 2 ** 31 - 1)),
          );
          expiry.unref?.();
        }
        req.log.info({ robot_id, session_id: sessionId, host: at }, 'terminal opened');
        void bridge.start();
      },
    );
  };
}
