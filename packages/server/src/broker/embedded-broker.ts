import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { isIngestTopic, isServerTopic } from '@tonypi/contracts';
import { Aedes, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../logger';
import { StartupError } from '../startup-error';
import { BrokerPersistence } from './broker-persistence';
import { type BrokerRefusal, BrokerRefusals } from './broker-refusals';
import { addressKey, ConnectionLimiter } from './connection-limit';
import { DEFAULT_MAX_PACKET_BYTES, guardPacketSize, type PacketRefusal } from './packet-size-guard';
import { RetainedLimiter, type RetainedLimits, type RetainedRefusal } from './retained-limit';
import { malformedString } from './utf8-guard';

/** Why a CONNECT is refused; each is counted (`auth_refused`) and answered with a CONNACK return code. */
export type AuthRefusal =
  /** Unknown robot, wrong secret. */
  | 'bad_credentials'
  /** No username while ALLOW_ANONYMOUS_ROBOTS is off. */
  | 'anonymous_refused'
  /** No username, and the client id is a robot that has credentials: it never connects anonymously. */
  | 'credentials_required'
  /** A username with another client id: the client id is the robot id, so one robot cannot take over another's session. */
  | 'client_id_mismatch'
  /** A robot an admin deleted. */
  | 'robot_deleted';

export type Authentication =
  | { ok: true; identity: string; anonymous: boolean }
  | { ok: false; refusal: AuthRefusal };

/**
 * Who may connect, publish and subscribe. A client's identity is its client id: for a robot with credentials
 * `authenticate` makes sure the client id is its username. The server's own in-process publishes are not
 * checked here (they are the server's); server → robot topics are refused to every client by the broker.
 */
export interface BrokerAuth {
  /** Synchronous: 1,000 robots reconnecting at once cost microseconds each, no I/O. */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Authentication;
  mayPublish(identity: string, topic: string): boolean;
  maySubscribe(identity: string, filter: string): boolean;
}

/**
 * For tests of the broker's own limits: clients without a username are accepted when allowed, and may publish
 * (but server topics) and subscribe to anything. The server itself uses `robotAuth` (robot-auth.ts).
 */
export function anonymousAuth(allowAnonymous: boolean): BrokerAuth {
  return {
    authenticate: (clientId, username) =>
      allowAnonymous && username === undefined
        ? { ok: true, identity: clientId, anonymous: true }
        : { ok: false, refusal: 'bad_credentials' },
    mayPublish: () => true,
    maySubscribe: () => true,
  };
}

/** MQTT 3.1.1 CONNACK return codes for each refusal. */
const CONNACK_CODE: Readonly<Record<AuthRefusal, 2 | 4 | 5>> = {
  bad_credentials: 4,
  anonymous_refused: 4,
  credentials_required: 4,
  client_id_mismatch: 2,
  robot_deleted: 5,
};

/**
 * Where a refused publish goes: nowhere. MQTT 3.1.1 has no negative acknowledgement, and an error would close
 * the connection (a robot would reconnect and send the same message again), so the broker acknowledges it and
 * delivers it to this topic, which no client may subscribe to and the server does not read.
 */
const DROPPED_TOPIC = '$tonypi/acl_denied';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  wsPort: number;
  auth: BrokerAuth;
  logger: Logger;
  /**
   * Largest remaining length (bytes after the fixed header) of a packet a client may send; a connection that
   * announces more is closed. Default: the largest robot payload plus 64 KiB for topic and properties.
   */
  maxPacketBytes?: number;
  /** Open connections (TCP and WebSocket) one remote address may hold; 0 = no limit. Default 256. */
  maxConnectionsPerAddress?: number;
  /** Bounds on the retained messages clients leave in the broker. */
  retained?: RetainedLimits;
  /** Told of every refusal (an ACL denial, a refused CONNECT …) with what the log line says of it. */
  onRefusal?: (reason: BrokerRefusal, details: Record<string, unknown>) => void;
}

export const DEFAULT_RETAINED_LIMITS: RetainedLimits = { maxBytes: 8192, perRobot: 16, total: 10_000 };

const RETAINED_REASON: Readonly<Record<RetainedRefusal, BrokerRefusal>> = {
  too_large: 'retained_too_large',
  robot_limit: 'retained_robot_limit',
  total_limit: 'retained_total_limit',
  not_owner: 'retained_not_owner',
};

/** CONNACK return code 3, "Server unavailable": MQTT 3.1.1's answer for a server that takes no more. */
const SERVER_UNAVAILABLE = 3;

const AUTH_MESSAGES: Readonly<Record<AuthRefusal, string>> = {
  bad_credentials: 'Bad username or password',
  anonymous_refused: 'Bad username or password: this server accepts robots with credentials only',
  credentials_required: 'Bad username or password: this robot has credentials',
  client_id_mismatch: 'Identifier rejected: the client id must be the robot id (the username)',
  robot_deleted: 'Not authorized: the robot was deleted',
};

/** Aedes' client, with the parts of it the limits use. */
type BrokerClient = Client & { closed: boolean };
/** Whether clients may still publish, and their publishes accepted but not yet delivered to subscribers. */
interface Intake {
  stopped: boolean;
  accepted: Set<object>;
}

export class PortInUseError extends StartupError {
  constructor(what: string, port: number, variable: string) {
    super(`${what} port ${port} is already in use: stop what holds it, or set ${variable} to a free port.`);
    this.name = 'PortInUseError';
  }
}

/** Aedes on TCP and MQTT-over-WebSocket, in this process. */
export class EmbeddedBroker {
  private constructor(
    readonly aedes: Aedes,
    private readonly tcp: net.Server,
    private readonly httpServer: http.Server,
    private readonly wss: WebSocketServer,
    private readonly refusals: { count: number },
    private readonly limits: BrokerRefusals,
    private readonly retained: RetainedLimiter,
    private readonly intake: Intake,
  ) {}

  static async start(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const { auth, logger } = opts;
    const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    const refusals = { count: 0 };
    const limits = new BrokerRefusals(logger, undefined, undefined, opts.onRefusal);
    const retained = new RetainedLimiter(opts.retained ?? DEFAULT_RETAINED_LIMITS);
    const connections = new ConnectionLimiter(opts.maxConnectionsPerAddress ?? 256);
    /** Connections accepted beyond their address's limit: their CONNECT is refused. */
    const overLimit = new WeakSet<object>();
    /** Sessions a newer connection with the same client id is taking over (MQTT closes the older one). */
    const takenOver = new WeakSet<Client>();
    const intake: Intake = { stopped: false, accepted: new Set() };
    const refused = (transport: string, remote: string | undefined) => (r: PacketRefusal) => {
      refusals.count++;
      logger.debug(
        { transport, remote, reason: r.reason, remaining_length: r.remainingLength, limit: maxPacketBytes },
        'mqtt connection closed: packet length over the limit or malformed',
      );
    };
    /** Counts a malformed MQTT string; the error makes Aedes close the connection (MQTT-1.5.3-1, -2). */
    const malformed = (client: Client, what: string, problem: string) => {
      limits.note(
        'malformed_string',
        { client: malformedString(client.id) ? undefined : client.id, what, problem },
        'mqtt connection closed: malformed string',
      );
      return new Error(`${what}: ${problem}`);
    };
    const aedes = await Aedes.createBroker({
      // Deliveries to in-process subscribers run this many at once: the ingest is one of them.
      concurrency: 1000,
      // Retained messages indexed by topic, no second stream per CONNECT and SUBSCRIBE (broker-persistence.ts).
      persistence: new BrokerPersistence(),
      preConnect: (client, packet, done) => {
        for (const [what, value] of [
          ['client id', packet.clientId],
          ['will topic', packet.will?.topic],
          ['user name', packet.username],
        ] as const) {
          const problem = malformedString(value);
          if (problem) return done(malformed(client, what, problem), false);
        }
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        if (intake.stopped) {
          // The server is shutting down: "server unavailable", the client tries again later.
          return done(
            Object.assign(new Error('Server shutting down'), { returnCode: SERVER_UNAVAILABLE }),
            false,
          );
        }
        if (overLimit.has(client.conn)) {
          const err = Object.assign(new Error('Too many connections from this address'), {
            returnCode: SERVER_UNAVAILABLE,
          });
          return done(err, false);
        }
        let result: Authentication;
        try {
          result = auth.authenticate(client.id, username, password);
        } catch (err) {
          return done(Object.assign(err as Error, { returnCode: SERVER_UNAVAILABLE }), false);
        }
        if (!result.ok) {
          // Never the password; the user name only when it is a well-formed string (checked in preConnect).
          limits.note(
            'auth_refused',
            { client: client.id, username: username?.slice(0, 64), refusal: result.refusal },
            'mqtt connection refused: authentication failed',
          );
          const code = CONNACK_CODE[result.refusal];
          const err = Object.assign(new Error(AUTH_MESSAGES[result.refusal]), { returnCode: code });
          return done(err, false);
        }
        // Aedes closes the session registered under this id once this one registers.
        const previous = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[
          client.id
        ];
        if (previous && previous !== client) takenOver.add(previous);
        done(null, true);
      },
      authorizePublish: (client, packet, cb) => {
        // An obsolete Last Will Aedes publishes without its client: nothing says whose it is.
        if (client === null) return cb(new Error('Will without a client: not published'));
        // After stopIntake() a client's publish is refused before Aedes acknowledges it: a QoS 1 message
        // gets no PUBACK (Aedes closes the connection) and the client sends it again to the next server.
        if (intake.stopped) return cb(new Error('Server shutting down'));
        const problem = malformedString(packet.topic);
        if (problem) return cb(malformed(client, 'topic', problem));
        if (packet.topic.startsWith('$') || isServerTopic(packet.topic)) {
          // Only the server publishes commands, config and broadcasts: a client that tries is disconnected.
          limits.note(
            'acl_denied',
            { robot: client.id, topic: packet.topic.slice(0, 200) },
            'mqtt: publish on a server topic refused, client disconnected',
          );
          return cb(new Error('Publish not authorized'));
        }
        // A topic outside the client's own goes on only when the ingest reads it: only the server subscribes to
        // robot → server topics (robots may not), and the ingest refuses it as `acl_denied`, counted and logged
        // with robot and topic (a retained one is not kept: `retained_not_owner`). Anything else stops here.
        if (!auth.mayPublish(client.id, packet.topic) && !isIngestTopic(packet.topic)) {
          limits.note(
            'acl_denied',
            { robot: client.id, topic: packet.topic.slice(0, 200) },
            "mqtt: publish outside the robot's own topics dropped",
          );
          packet.topic = DROPPED_TOPIC;
          packet.retain = false;
          return cb(null);
        }
        // Only a closed client publishes: its Last Will. When a new session with the same client id took it over
        // (a reconnect, or another client reusing the id), that session is alive: the will would mark a
        // connected robot offline, so it is dropped.
        if ((client as BrokerClient).closed && takenOver.has(client)) {
          limits.note(
            'takeover_will_dropped',
            { client: client.id, topic: packet.topic.slice(0, 200) },
            'mqtt: Last Will of a taken-over session dropped',
          );
          return cb(new Error('Session taken over: its will is not published'));
        }
        if (packet.retain) {
          const refusal = retained.admit(packet.topic, packet.payload.length, client.id);
          if (refusal) {
            // Refused retention: the message is still delivered, as a plain message, but the broker does not
            // keep it (disconnecting would make a robot reconnect and send it again).
            packet.retain = false;
            limits.note(
              RETAINED_REASON[refusal],
              {
                client: client.id,
                topic: packet.topic.slice(0, 200),
                bytes: packet.payload.length,
                limits: retained.limits,
              },
              'mqtt: retained message not kept',
            );
          }
        }
        intake.accepted.add(packet);
        cb(null);
      },
      authorizeSubscribe: (client, sub, cb) => {
        const problem = malformedString(sub.topic);
        if (problem) return cb(malformed(client, 'topic filter', problem), null);
        if (auth.maySubscribe(client.id, sub.topic)) return cb(null, sub);
        limits.note(
          'subscribe_denied',
          { robot: client.id, filter: sub.topic.slice(0, 200) },
          'mqtt: subscription refused (SUBACK failure)',
        );
        // A null subscription: SUBACK return code 0x80 (failure) for this filter, the others are granted.
        cb(null, null);
      },
    });
    // Emitted once a publish reached every subscriber (the ingest among them): no longer in flight.
    aedes.on('publish', (packet) => {
      intake.accepted.delete(packet);
    });
    aedes.on('clientError', (client, err) =>
      logger.debug({ client: client?.id, err: err.message }, 'mqtt client error'),
    );
    aedes.on('connectionError', (_client, err) =>
      logger.debug({ err: err.message }, 'mqtt connection error'),
    );

    /**
     * Counts a new connection against its address; false when it was closed at once. Beyond the limit its
     * CONNECT is refused (CONNACK 3, server unavailable); beyond twice the limit it is closed without a word,
     * so silent sockets cannot pile up until the connect timeout.
     */
    const admit = (
      stream: { once(e: 'close', l: () => void): unknown; destroy(): unknown },
      remote?: string,
    ) => {
      const address = addressKey(remote);
      const ok = connections.acquire(address);
      stream.once('close', () => connections.release(address));
      if (ok) return true;
      limits.note(
        'connections_per_address',
        { remote: address, open: connections.count(address), limit: connections.maxPerAddress },
        'mqtt connection refused: too many connections from this address',
      );
      if (connections.count(address) > 2 * connections.maxPerAddress) {
        stream.destroy();
        return false;
      }
      overLimit.add(stream);
      return true;
    };
    const handle = (
      stream: net.Socket | Duplex,
      transport: string,
      remote: string | undefined,
      req?: http.IncomingMessage,
    ) => {
      if (!admit(stream, remote)) return;
      aedes.handle(stream, req);
      // After handle(): Aedes reads with 'readable', so the guard's 'data' listener does not switch the
      // stream to flowing mode (see packet-size-guard.ts).
      guardPacketSize(stream, refused(transport, remote), maxPacketBytes);
    };

    const tcp = net.createServer({ noDelay: true }, (socket) => handle(socket, 'tcp', socket.remoteAddress));
    const httpServer = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
    });
    // maxPayload bounds one WebSocket message; an MQTT packet may span several: the guard applies here too.
    const wss = new WebSocketServer({ server: httpServer, maxPayload: 256 * 1024 });
    // ws re-emits the HTTP server's errors here; unheard, a failed listen (port in use) would be thrown
    // as an uncaught exception before `listen()` below could turn it into a PortInUseError.
    wss.on('error', (err) => logger.debug({ err: err.message }, 'mqtt websocket server error'));
    wss.on('connection', (socket, req) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', () => stream.destroy());
      handle(stream, 'websocket', req.socket.remoteAddress, req);
    });

    try {
      await listen(tcp, opts.port, opts.host, 'MQTT', 'MQTT_PORT');
      await listen(httpServer, opts.wsPort, opts.host, 'MQTT WebSocket', 'MQTT_WS_PORT');
    } catch (err) {
      tcp.close();
      httpServer.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw err;
    }
    return new EmbeddedBroker(aedes, tcp, httpServer, wss, refusals, limits, retained, intake);
  }

  get port(): number {
    return (this.tcp.address() as net.AddressInfo).port;
  }

  get wsPort(): number {
    return (this.httpServer.address() as net.AddressInfo).port;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Connections closed because a packet announced more than the size limit. */
  get packetsRefused(): number {
    return this.refusals.count;
  }

  /** What the limits refused (connections, retained messages, malformed strings), by reason. */
  limitRefusals(): Record<BrokerRefusal, number> {
    return this.limits.counts();
  }

  /**
   * Closes the robot's session, if it has one (credentials rotated, robot deleted): a robot's client id is its
   * identity. True when one was open.
   */
  disconnect(robot_id: string): boolean {
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[
      robot_id
    ];
    if (!client) return false;
    client.close();
    return true;
  }

  /** Retained messages clients have left in the broker (bounded by the retained limits). */
  get retainedMessages(): number {
    return this.retained.size;
  }

  /**
   * The first step of a shutdown: refuses new connections and every client's publish from now on, then waits
   * (at most `timeoutMs`) until each publish accepted before has been delivered to the subscribers, the ingest
   * among them. Aedes sends a QoS 1 PUBACK before it delivers the message, so without the wait an
   * acknowledged message could miss the ingest's last flush. Resolves with the publishes still undelivered
   * at the timeout (their connection failed mid-way, normally 0).
   */
  async stopIntake(timeoutMs = 3000): Promise<number> {
    this.intake.stopped = true;
    const deadline = Date.now() + timeoutMs;
    while (this.intake.accepted.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.intake.accepted.size;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await Promise.all([closeServer(this.tcp), closeServer(this.httpServer)]);
  }
}

/**
 * Connections the kernel may hold waiting for accept(). Node's default, 511, is fewer than a fleet opens at
 * once when it reconnects (a broker restart, the network back; `bench:auth` connects 1,000): a SYN beyond it
 * is dropped and comes back only with TCP's retransmit 1 s, 3 s, 7 s later. The kernel caps the value at
 * net.core.somaxconn (4096 on current Linux).
 */
const LISTEN_BACKLOG = 4096;

async function listen(server: net.Server, port: number, host: string, what: string, variable: string) {
  server.listen({ port, host, backlog: LISTEN_BACKLOG });
  try {
    await once(server, 'listening');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(what, port, variable);
    throw err;
  }
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
