import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { isServerTopic } from '@tonypi/contracts';
import { Aedes, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../logger';
import { DEFAULT_MAX_PACKET_BYTES, guardPacketSize, type PacketRefusal } from './packet-size-guard';

/**
 * Who may connect, publish and subscribe. Robot credentials arrive with their own issue; until
 * then `allowAnonymous` decides whether robots without credentials are accepted.
 */
export interface BrokerAuth {
  authenticate(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean>;
  authorizePublish(client: Client | null, topic: string): boolean;
  authorizeSubscribe(client: Client, topic: string): boolean;
}

/**
 * Until robots have credentials: anonymous robots are accepted when allowed, and a client that
 * presents a username is refused (there is nothing yet to check its password against). Only the
 * server (an in-process publish, `client === null`) may publish commands, config and broadcasts.
 */
export function anonymousAuth(allowAnonymous: boolean): BrokerAuth {
  return {
    authenticate: async (_id, username) => allowAnonymous && username === undefined,
    authorizePublish: (client, topic) =>
      client === null || !(topic.startsWith('$SYS') || isServerTopic(topic)),
    authorizeSubscribe: () => true,
  };
}

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
}

/** Whether clients may still publish, and their publishes accepted but not yet delivered to subscribers. */
interface Intake {
  stopped: boolean;
  accepted: Set<object>;
}

export class PortInUseError extends Error {
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
    private readonly intake: Intake,
  ) {}

  static async start(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const { auth, logger } = opts;
    const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    const refusals = { count: 0 };
    const intake: Intake = { stopped: false, accepted: new Set() };
    const refused = (transport: string, remote: string | undefined) => (r: PacketRefusal) => {
      refusals.count++;
      logger.debug(
        { transport, remote, reason: r.reason, remaining_length: r.remainingLength, limit: maxPacketBytes },
        'mqtt connection closed: packet length over the limit or malformed',
      );
    };
    const aedes = await Aedes.createBroker({
      // Deliveries to in-process subscribers run this many at once: the ingest is one of them.
      concurrency: 1000,
      authenticate: (client, username, password, done) => {
        if (intake.stopped) {
          // The server is shutting down: "server unavailable", the client tries again later.
          return done(Object.assign(new Error('Server shutting down'), { returnCode: 3 as const }), false);
        }
        auth.authenticate(client.id, username, password).then(
          (ok) => {
            if (ok) return done(null, true);
            const err = Object.assign(new Error('Bad username or password'), { returnCode: 4 as const });
            done(err, false);
          },
          (err: Error) => done(Object.assign(err, { returnCode: 3 as const }), false),
        );
      },
      authorizePublish: (client, packet, cb) => {
        // After stopIntake() a client's publish is refused before Aedes acknowledges it: a QoS 1 message
        // gets no PUBACK (Aedes closes the connection) and the client sends it again to the next server.
        if (client !== null && intake.stopped) return cb(new Error('Server shutting down'));
        if (!auth.authorizePublish(client, packet.topic)) return cb(new Error('Publish not authorized'));
        if (client !== null) intake.accepted.add(packet);
        cb(null);
      },
      authorizeSubscribe: (client, sub, cb) =>
        cb(null, auth.authorizeSubscribe(client, sub.topic) ? sub : null),
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

    const tcp = net.createServer({ noDelay: true }, (socket) => {
      aedes.handle(socket);
      // After handle(): Aedes reads with 'readable', so the guard's 'data' listener does not switch the
      // socket to flowing mode (see packet-size-guard.ts).
      guardPacketSize(socket, refused('tcp', socket.remoteAddress), maxPacketBytes);
    });
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
      aedes.handle(stream, req);
      guardPacketSize(stream, refused('websocket', req.socket.remoteAddress), maxPacketBytes);
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
    return new EmbeddedBroker(aedes, tcp, httpServer, wss, refusals, intake);
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

async function listen(server: net.Server, port: number, host: string, what: string, variable: string) {
  server.listen(port, host);
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
