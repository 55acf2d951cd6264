import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { type Logger, redactUrl } from '../../logger';
import { StartupError } from '../../startup-error';

const REQUEST_TOPIC = '$CONTROL/dynamic-security/v1';
const RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';

/** One command of the plugin's JSON control API (`{"command": "createClient", …}`). */
export interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

/** The plugin's answer to one command: `error` set when it failed, `data` for the get/list commands. */
export interface DynsecResponse {
  command: string;
  error?: string;
  data?: Record<string, unknown>;
}

/** A command the broker refused: which one and the plugin's reason ("Client not found" …), never its fields. */
export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`Mosquitto dynamic-security: ${command} failed: ${reason}`);
    this.name = 'DynsecError';
  }
}

export interface DynsecControlOptions {
  url: string;
  username: string;
  password?: string;
  logger: Logger;
  /** Per batch of commands; the broker answers in milliseconds when it is there. */
  timeoutMs?: number;
}

interface Pending {
  ids: string[];
  answers: Map<string, DynsecResponse>;
  resolve: (answers: DynsecResponse[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The dynamic-security plugin's control API over MQTT: commands published to `$CONTROL/dynamic-security/v1`,
 * answers read from `…/v1/response`. The broker sends every answer to every subscriber of that topic (another
 * server instance's admin connection too), so each command carries a `correlationData` unique to this
 * connection and answers are matched by it, never by order. Commands carry robots' passwords: nothing here
 * logs a command or a payload, only the command's name and the plugin's error.
 */
export class DynsecControl {
  private readonly prefix = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly pending = new Set<Pending>();
  private readonly byId = new Map<string, Pending>();

  private constructor(
    private readonly client: MqttClient,
    private readonly timeoutMs: number,
  ) {
    client.on('message', (topic, payload) => {
      if (topic === RESPONSE_TOPIC) this.receive(payload);
    });
  }

  static async connect(opts: DynsecControlOptions): Promise<DynsecControl> {
    const client = mqtt.connect(opts.url, {
      clientId: `tonypi-dynsec-${randomBytes(6).toString('hex')}`,
      username: opts.username,
      password: opts.password,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      // The control API needs nothing of MQTT 5; 3.1.1 works on every broker version.
      protocolVersion: 4,
    });
    client.on('error', (err) => opts.logger.warn({ err: err.message }, 'mqtt dynamic-security login error'));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new StartupError(`Cannot reach the MQTT broker at ${redactUrl(opts.url)} within 10 s`)),
          10_000,
        );
        client.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        client.once('error', (err) => {
          clearTimeout(timer);
          reject(
            new StartupError(
              `The MQTT broker at ${redactUrl(opts.url)} refused the dynamic-security admin login (MQTT_DYNSEC_ADMIN_USERNAME): ${err.message}`,
            ),
          );
        });
      });
      const granted = await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 });
      if ((granted[0]?.qos ?? 128) >= 128) throw new Error('refused');
    } catch (err) {
      await client.endAsync(true);
      if (err instanceof StartupError) throw err;
      throw new StartupError(
        `The MQTT login MQTT_DYNSEC_ADMIN_USERNAME may not use ${REQUEST_TOPIC} (is the dynamic-security plugin loaded, and the login its admin?)`,
      );
    }
    return new DynsecControl(client, opts.timeoutMs ?? 10_000);
  }

  /**
   * Sends the commands as one message (the plugin runs them in order) and resolves with each one's answer,
   * failed ones included: the caller decides which errors mean "already so".
   */
  run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    if (commands.length === 0) return Promise.resolve([]);
    const ids = commands.map(() => `${this.prefix}-${++this.seq}`);
    return new Promise<DynsecResponse[]>((resolve, reject) => {
      const entry: Pending = {
        ids,
        answers: new Map(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(entry);
          reject(
            new DynsecError(
              commands.map((c) => c.command).join(','),
              `no answer within ${this.timeoutMs} ms`,
            ),
          );
        }, this.timeoutMs),
      };
      this.pending.add(entry);
      for (const id of ids) this.byId.set(id, entry);
      const body = JSON.stringify({
        commands: commands.map((c, i) => ({ ...c, correlationData: ids[i] })),
      });
      this.client.publish(REQUEST_TOPIC, body, { qos: 1 }, (err) => {
        if (!err) return;
        this.settle(entry);
        reject(new DynsecError(commands[0]!.command, err.message));
      });
    });
  }

  /** Like `run`, but every command must succeed, except the errors `tolerated` lists (by command). */
  async expect(
    commands: readonly DynsecCommand[],
    tolerated: Readonly<Record<string, readonly string[]>> = {},
  ): Promise<DynsecResponse[]> {
    const answers = await this.run(commands);
    for (const a of answers) {
      if (a.error !== undefined && !tolerated[a.command]?.includes(a.error)) {
        throw new DynsecError(a.command, a.error);
      }
    }
    return answers;
  }

  isConnected(): boolean {
    return this.client.connected;
  }

  async close(): Promise<void> {
    for (const entry of [...this.pending]) {
      this.settle(entry);
      entry.reject(new DynsecError('close', 'the connection was closed'));
    }
    await this.client.endAsync();
  }

  private receive(payload: Buffer): void {
    let body: { responses?: Array<DynsecResponse & { correlationData?: unknown }> };
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    for (const answer of body.responses ?? []) {
      const id = typeof answer.correlationData === 'string' ? answer.correlationData : undefined;
      const entry = id === undefined ? undefined : this.byId.get(id);
      if (!entry || !id) continue; // another instance's, or one that timed out
      const { correlationData: _, ...rest } = answer;
      entry.answers.set(id, rest);
      if (entry.answers.size === entry.ids.length) {
        this.settle(entry);
        entry.resolve(entry.ids.map((i) => entry.answers.get(i)!));
      }
    }
  }

  private settle(entry: Pending): void {
    clearTimeout(entry.timer);
    this.pending.delete(entry);
    for (const id of entry.ids) this.byId.delete(id);
  }
}
