import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every problem is reported at once; the result is
 * frozen and passed to whoever needs it.
 */

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** `CORS_ORIGINS`: exact origins (scheme://host[:port]), comma-separated; browsers send them without a path. */
const origins = z.string().transform((value, ctx) => {
  const list = value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  let valid = true;
  for (const origin of list) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!url || !/^https?:$/.test(url.protocol) || !bare || origin.endsWith('?') || origin.endsWith('#')) {
      valid = false;
      ctx.addIssue({
        code: 'custom',
        message: `"${origin}" is not an origin: write http(s)://host[:port], no path${origin === '*' ? ' (a wildcard cannot carry credentials: list the origins)' : ''}`,
      });
    }
  }
  // As a browser writes it: lower-case, no default port, no trailing slash.
  return valid ? list.map((o) => new URL(o).origin) : z.NEVER;
});

/**
 * `TRUST_PROXY`, as Fastify's `trustProxy` takes it: `false`, `true` (trust every hop: only when nothing but the
 * proxy can reach the server), or the proxies' addresses / CIDR ranges (and proxy-addr's names `loopback`,
 * `linklocal`, `uniquelocal`). Not a hop count: Fastify 5 ignores one (it cannot tell a proxy from a client
 * that connects directly and forges X-Forwarded-For), and a setting that is silently ignored is worse than none.
 */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const trustProxy = z.string().transform((value, ctx): boolean | string[] => {
  const v = value.trim().toLowerCase();
  if (v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `a hop count (${v}) cannot tell a proxy from a client that forges X-Forwarded-For: list the proxies' addresses (e.g. 127.0.0.1 or 10.0.0.0/8), or true when only the proxy can reach the server`,
    });
    return z.NEVER;
  }
  const list = v
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!PROXY_NAMES.has(entry) && (family === 0 || !bitsOk || rest.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not an address, a CIDR range or loopback/linklocal/uniquelocal (or use true, false)`,
      });
    }
  }
  return list;
});

/**
 * `GRAFANA_URL`: where the browser reaches Grafana (scheme, host, port and an optional sub-path such as
 * `/grafana`), for the web app's embedded panels and links. No query, fragment or credentials: the app adds
 * its own query, and a password in a URL every browser is handed would be no secret.
 */
const grafanaUrl = z.string().transform((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      // A password is not echoed into the start-up error.
      message: `${url?.password ? 'a URL with credentials' : `"${value}"`} is not a Grafana URL: write http(s)://host[:port][/path], no query, fragment or credentials`,
    });
    return z.NEVER;
  }
  return { url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, origin: url.origin };
});

const EnvSchema = z.object({
  PORT: port.default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  MQTT_PORT: port.default(1883),
  MQTT_WS_PORT: port.default(9001),
  MQTT_HOST: z.string().min(1).optional(),
  MQTT_URL: z
    .url({ protocol: /^(mqtts?|wss?|tcp)$/ })
    .optional()
    .describe('External broker; unset = embedded Aedes'),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  MQTT_SHARED_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('tonypi-ingest'),
  MQTT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  MQTT_SESSION_EXPIRY_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(3600),
  MQTT_DYNSEC: bool.default(false),
  MQTT_DYNSEC_ADMIN_USERNAME: z.string().min(1).optional(),
  MQTT_DYNSEC_ADMIN_PASSWORD: z.string().min(1).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  TELEMETRY_URL: z.url({ protocol: /^(duckdb|influx|influxs)$/ }).optional(),
  SIMULATED_ROBOTS: z.coerce.number().int().min(0).max(1000).default(0),
  SIMULATED_RATE_HZ: z.coerce.number().positive().max(1000).default(1),
  SIMULATED_CAMERA_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SIMULATED_FAULTS: bool.default(true),
  CAMERA_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  CAMERA_LINGER_MS: z.coerce.number().int().min(0).max(600_000).default(3000),
  CAMERA_SNAPSHOT_RETENTION_DAYS: z.coerce.number().positive().max(36500).default(90),
  CAMERA_SNAPSHOTS_PER_ROBOT: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_TTL_S: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(12 * 3600),
  ALLOW_ANONYMOUS_ROBOTS: bool.default(true),
  ROBOT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  AUTO_REGISTER_ROBOTS: bool.default(true),
  ROBOT_AUTO_REGISTER_PER_MIN: z.coerce.number().int().min(1).max(100_000).default(120),
  ROBOT_PENDING_MAX: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  ROBOT_CONFIRM_AFTER_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(60),
  MQTT_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(256),
  MQTT_RETAINED_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024 * 1024)
    .default(8192),
  MQTT_RETAINED_PER_ROBOT: z.coerce.number().int().min(1).max(10_000).default(16),
  MQTT_RETAINED_MAX_TOTAL: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  RETENTION_RAW_DAYS: z.coerce.number().positive().max(3650).default(7),
  RETENTION_MINUTE_DAYS: z.coerce.number().positive().max(3650).default(90),
  RETENTION_HOUR_DAYS: z.coerce.number().positive().max(36500).default(730),
  LOG_RETENTION_DAYS: z.coerce.number().positive().max(36500).default(30),
  /** The built web app (`npm run build -w @tonypi/web`); unset = packages/web/dist of this checkout. */
  WEB_APP_DIR: z.string().min(1).optional(),
  COMMANDS_PER_USER_PER_S: z.coerce.number().positive().max(100_000).default(5),
  COMMAND_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  INGEST_QUEUE_LIMIT: z.coerce.number().int().min(100).max(10_000_000).default(200_000),
  QUERY_READERS: z.coerce.number().int().min(1).max(64).default(2),
  QUERY_QUEUE_LIMIT: z.coerce.number().int().min(0).max(10_000).default(4),
  READER_SHED_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  READER_SLOTS: z.coerce.number().int().min(0).max(64).default(2),
  READER_WAIT_LIMIT: z.coerce.number().int().min(0).max(10_000).default(100),
  ROBOT_LIST_MAX_AGE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  RANGE_TAIL_MAX_AGE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  OFFLINE_AFTER_S: z.coerce.number().int().min(1).max(86_400).default(30),
  ALERT_RESOLVE_AFTER_S: z.coerce.number().int().min(0).max(86_400).default(30),
  CLOCK_SKEW_MAX_S: z.coerce.number().int().min(1).max(86_400).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  CORS_ORIGINS: origins.optional(),
  TRUST_PROXY: trustProxy.default(false),
  GRAFANA_URL: grafanaUrl.optional(),
  NOTIFICATION_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  NOTIFICATION_QUEUE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  NOTIFICATION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  NOTIFICATION_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  NOTIFICATION_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(2000),
  NOTIFICATION_TIMEOUT_MS: z.coerce.number().int().min(50).max(120_000).default(5000),
  NOTIFICATION_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  SECRETS_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  SSH_IDLE_TIMEOUT_S: z.coerce.number().int().min(0).max(86_400).default(900),
  SSH_CONNECT_TIMEOUT_S: z.coerce.number().int().min(1).max(120).default(10),
  SSH_MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(4),
  REPORT_TIMEOUT_S: z.coerce.number().int().min(1).max(86_400).default(600),
  AI_PROVIDER: z.enum(['auto', 'gemini', 'openai_compatible', 'none']).default('auto'),
  GEMINI_API_KEY: z.string().min(1).optional(),
  GEMINI_MODEL: z.string().min(1).max(100).default('gemini-2.5-flash'),
  GEMINI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  LLM_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_MODEL: z.string().min(1).max(100).default('local-model'),
  LLM_TIMEOUT_S: z.coerce.number().int().min(1).max(600).default(60),
});

export type Env = z.infer<typeof EnvSchema>;

/**
 * The server's settings: derived from the environment's schema (`Env`) by `toConfig`, the one definition of
 * their shape; loadConfig freezes the result.
 */
export type Config = ReturnType<typeof toConfig>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DAY_MS = 24 * 3600_000;

/** The environment's variables, grouped by what reads them. */
function toConfig(e: Env) {
  return {
    http: { port: e.PORT, host: e.HOST },
    dataDir: e.DATA_DIR,
    mqtt: {
      /** External broker URL; undefined = run the embedded broker. */
      url: e.MQTT_URL,
      username: e.MQTT_USERNAME,
      password: e.MQTT_PASSWORD,
      sharedGroup: e.MQTT_SHARED_GROUP,
      /**
       * The server's fixed MQTT client id on an external broker (its persistent session: QoS 1 messages published
       * while it is away are kept for it); undefined = generated once and kept in DATA_DIR. Unique per instance.
       */
      clientId: e.MQTT_CLIENT_ID,
      /** How long the external broker keeps that session (and queues for it) after the server disconnects. */
      sessionExpiryS: e.MQTT_SESSION_EXPIRY_S,
      /**
       * Mosquitto's dynamic-security plugin: the server keeps a broker client and role per robot (issue #9 §2),
       * through this login's `$CONTROL/dynamic-security/v1`; undefined = the broker's accounts are not managed.
       * The admin login defaults to the server's own.
       */
      dynsec: e.MQTT_DYNSEC
        ? {
            username: (e.MQTT_DYNSEC_ADMIN_USERNAME ?? e.MQTT_USERNAME) as string,
            password: e.MQTT_DYNSEC_ADMIN_USERNAME ? e.MQTT_DYNSEC_ADMIN_PASSWORD : e.MQTT_PASSWORD,
          }
        : undefined,
      embedded: {
        host: e.MQTT_HOST ?? e.HOST,
        port: e.MQTT_PORT,
        wsPort: e.MQTT_WS_PORT,
        /** Open connections one remote address may hold; 0 = no limit. */
        maxConnectionsPerAddress: e.MQTT_MAX_CONNECTIONS_PER_ADDRESS,
        retained: {
          maxBytes: e.MQTT_RETAINED_MAX_BYTES,
          perRobot: e.MQTT_RETAINED_PER_ROBOT,
          total: e.MQTT_RETAINED_MAX_TOTAL,
        },
      },
    },
    databaseUrl: e.DATABASE_URL,
    telemetryUrl: e.TELEMETRY_URL,
    simulator: {
      robots: e.SIMULATED_ROBOTS,
      rateHz: e.SIMULATED_RATE_HZ,
      cameraPort: e.SIMULATED_CAMERA_PORT,
      /** Occasional faults (servo overheating, link drops, error logs), as a fleet in the field shows them. */
      faults: e.SIMULATED_FAULTS,
    },
    camera: {
      /** Connecting to a robot's camera, its first frame, a snapshot; the stream's silence is twice this. */
      timeoutMs: e.CAMERA_TIMEOUT_MS,
      /** How long a stream stays open upstream after its last viewer left. */
      lingerMs: e.CAMERA_LINGER_MS,
      /** Stored snapshots older than this are deleted (hourly). */
      snapshotRetentionMs: e.CAMERA_SNAPSHOT_RETENTION_DAYS * DAY_MS,
      /** A robot's stored snapshots beyond its newest this many are deleted (hourly). */
      snapshotsPerRobot: e.CAMERA_SNAPSHOTS_PER_ROBOT,
    },
    auth: { adminPassword: e.ADMIN_PASSWORD, jwtSecret: e.JWT_SECRET, sessionTtlS: e.SESSION_TTL_S },
    robots: {
      allowAnonymous: e.ALLOW_ANONYMOUS_ROBOTS,
      /** The key robot secrets are hashed with; undefined = generated and kept in DATA_DIR. */
      secretKey: e.ROBOT_SECRET_KEY,
      autoRegister: e.AUTO_REGISTER_ROBOTS,
      /** Robots registering themselves: at most this many a minute (as a burst, then spread), */
      autoRegisterPerMin: e.ROBOT_AUTO_REGISTER_PER_MIN,
      /** at most this many waiting to be confirmed, */
      pendingMax: e.ROBOT_PENDING_MAX,
      /** confirmed after talking this long without going offline. */
      confirmAfterMs: e.ROBOT_CONFIRM_AFTER_S * 1000,
      /** How long one serialised `GET /robots` answer is shared. */
      listMaxAgeMs: e.ROBOT_LIST_MAX_AGE_MS,
      /** A robot silent this long is offline (the legacy client has no Last Will). */
      offlineAfterMs: e.OFFLINE_AFTER_S * 1000,
    },
    alerts: {
      /** An alert's value on the good side of the rule's clear level this long resolves it. */
      resolveAfterMs: e.ALERT_RESOLVE_AFTER_S * 1000,
    },
    retention: {
      raw_ms: e.RETENTION_RAW_DAYS * DAY_MS,
      minute_ms: e.RETENTION_MINUTE_DAYS * DAY_MS,
      hour_ms: e.RETENTION_HOUR_DAYS * DAY_MS,
    },
    /** The server's log (system_logs): entries older than this are deleted by a job. */
    logs: { retentionMs: e.LOG_RETENTION_DAYS * DAY_MS },
    /** Commands a user may send: a burst of `burst`, refilled at `perUserPerS` (emergency stops: never limited). */
    commands: { perUserPerS: e.COMMANDS_PER_USER_PER_S, burst: e.COMMAND_BURST },
    ingest: { queueLimit: e.INGEST_QUEUE_LIMIT, clockSkewMaxMs: e.CLOCK_SKEW_MAX_S * 1000 },
    /** Telemetry reads: connections that run them, and how many may wait before one is refused (503). */
    query: {
      readers: e.QUERY_READERS,
      queueLimit: e.QUERY_QUEUE_LIMIT,
      shedLoopDelayMs: e.READER_SHED_LOOP_DELAY_MS,
      /** History (range) answers made and sent at once, and how many may wait for their turn (then 503). */
      slots: e.READER_SLOTS,
      waitLimit: e.READER_WAIT_LIMIT,
      /** How long a range query's fresh tail answers the next queries of the same shape. */
      rangeTailMaxAgeMs: e.RANGE_TAIL_MAX_AGE_MS,
    },
    logLevel: e.LOG_LEVEL,
    /** `auto`: coloured lines for a person when stdout is a terminal, JSON lines otherwise. */
    logFormat: e.LOG_FORMAT,
    web: {
      /** Other origins a browser may call the API from (CORS, with credentials); empty = none. */
      corsOrigins: (e.CORS_ORIGINS ?? []) as readonly string[],
      /** Fastify's `trustProxy`: whose X-Forwarded-For/-Proto/-Host to believe. */
      trustProxy: e.TRUST_PROXY as boolean | readonly string[],
      /** The built web app served at `/`; undefined = packages/web/dist beside the server's sources. */
      appDir: e.WEB_APP_DIR,
      /** Origins the app's pages may frame (its CSP's frame-src): Grafana's, when set; empty = none. */
      frameOrigins: (e.GRAFANA_URL ? [e.GRAFANA_URL.origin] : []) as readonly string[],
    },
    /** The Grafana whose panels the web app embeds; undefined = nothing of Grafana in the app. */
    grafana: e.GRAFANA_URL ? { url: e.GRAFANA_URL.url } : undefined,
    /** Alert notifications (webhooks, email): the delivery queue, retries and the key channel secrets are sealed with. */
    /** Reports (issue #10): one that runs longer than this fails. */
    reports: {
      timeoutMs: e.REPORT_TIMEOUT_S * 1000,
      /** AI insights: which provider (`auto`: Gemini with a key, else an OpenAI-compatible endpoint with a URL). */
      ai: {
        provider: e.AI_PROVIDER,
        gemini: e.GEMINI_API_KEY
          ? { apiKey: e.GEMINI_API_KEY, model: e.GEMINI_MODEL, baseUrl: e.GEMINI_BASE_URL }
          : undefined,
        openai: e.LLM_BASE_URL
          ? { baseUrl: e.LLM_BASE_URL, apiKey: e.LLM_API_KEY, model: e.LLM_MODEL }
          : undefined,
        timeoutMs: e.LLM_TIMEOUT_S * 1000,
      },
    },
    /** The SSH terminal to robots (issue #11 §1). */
    ssh: {
      /** The key SSH settings' secrets are sealed with; undefined = generated and kept in DATA_DIR. */
      secretsKey: e.SECRETS_KEY,
      /** A terminal with neither input nor output this long is closed; 0 = never. */
      idleTimeoutMs: e.SSH_IDLE_TIMEOUT_S * 1000,
      /** Connecting, the SSH handshake and authentication together. */
      connectTimeoutMs: e.SSH_CONNECT_TIMEOUT_S * 1000,
      /** Terminals one user may have open at once (over every robot, on this server). */
      maxSessionsPerUser: e.SSH_MAX_SESSIONS_PER_USER,
    },
    notifications: {
      /** undefined = generated and kept in DATA_DIR. */
      secretKey: e.NOTIFICATION_SECRET_KEY,
      /** Deliveries waiting, in flight or between attempts, over every channel; past it new ones are dropped (counted). */
      queueLimit: e.NOTIFICATION_QUEUE_LIMIT,
      /** Deliveries in flight at once per channel. */
      concurrency: e.NOTIFICATION_CONCURRENCY,
      attempts: e.NOTIFICATION_ATTEMPTS,
      /** The first retry waits about this long, each later one twice as long (with jitter). */
      retryBaseMs: e.NOTIFICATION_RETRY_BASE_MS,
      /** Per attempt. */
      timeoutMs: e.NOTIFICATION_TIMEOUT_MS,
      /** At shutdown, how long attempts in flight may still finish. */
      shutdownGraceMs: e.NOTIFICATION_SHUTDOWN_GRACE_MS,
    },
  };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  // An empty variable means "unset": `PORT= npm start` should not fail on ''.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const e = parsed.data;
  if (
    e.MQTT_MAX_CONNECTIONS_PER_ADDRESS > 0 &&
    !e.MQTT_URL &&
    e.SIMULATED_ROBOTS > e.MQTT_MAX_CONNECTIONS_PER_ADDRESS
  ) {
    // The simulated fleet connects from this machine's one address.
    throw new ConfigError([
      `SIMULATED_ROBOTS: ${e.SIMULATED_ROBOTS} robots need more connections than MQTT_MAX_CONNECTIONS_PER_ADDRESS (${e.MQTT_MAX_CONNECTIONS_PER_ADDRESS}) allows from one address; raise it or set it to 0`,
    ]);
  }
  if (e.MQTT_DYNSEC) {
    const problems: string[] = [];
    if (!e.MQTT_URL)
      problems.push('MQTT_DYNSEC: needs MQTT_URL (the Mosquitto whose accounts the server keeps)');
    if (!e.MQTT_USERNAME)
      problems.push("MQTT_DYNSEC: needs MQTT_USERNAME (the server's own login on that broker)");
    if (e.MQTT_DYNSEC_ADMIN_USERNAME && !e.MQTT_DYNSEC_ADMIN_PASSWORD)
      problems.push('MQTT_DYNSEC_ADMIN_PASSWORD: needed with MQTT_DYNSEC_ADMIN_USERNAME');
    if (problems.length > 0) throw new ConfigError(problems);
  }
  if (e.AI_PROVIDER === 'gemini' && !e.GEMINI_API_KEY)
    throw new ConfigError(['AI_PROVIDER: gemini needs GEMINI_API_KEY']);
  if (e.AI_PROVIDER === 'openai_compatible' && !e.LLM_BASE_URL)
    throw new ConfigError([
      'AI_PROVIDER: openai_compatible needs LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1)',
    ]);
  const config = toConfig(e);
  return deepFreeze(config);
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}
