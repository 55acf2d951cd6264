import { type AddressInfo, createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynsecControl, DynsecError } from './dynsec-control';

/**
 * The control API's request/answer matching, against an in-process broker playing the plugin: it answers
 * out of order, split over two messages, mixed with answers meant for another instance's commands — as the
 * real plugin's answers reach every subscriber of `…/v1/response`.
 */
let aedes: Aedes;
let tcp: Server;
let url: string;
let silence = false;

beforeAll(async () => {
  aedes = await Aedes.createBroker();
  aedes.subscribe(
    '$CONTROL/dynamic-security/v1',
    (packet, cb) => {
      cb();
      if (silence) return;
      const { commands } = JSON.parse(String(packet.payload)) as {
        commands: Array<{ command: string; correlationData: string; username?: string }>;
      };
      const answers = commands
        .map((c) => ({
          command: c.command,
          correlationData: c.correlationData,
          ...(c.username === 'ghost' ? { error: 'Client not found' } : {}),
          ...(c.command === 'getClient' ? { data: { client: { username: c.username } } } : {}),
        }))
        .reverse();
      const respond = (responses: unknown[]) =>
        aedes.publish(
          {
            cmd: 'publish',
            topic: '$CONTROL/dynamic-security/v1/response',
            payload: Buffer.from(JSON.stringify({ responses })),
            qos: 0,
            retain: false,
            dup: false,
          },
          () => undefined,
        );
      respond([
        { command: 'createClient', correlationData: 'someone-else-1', error: 'Client already exists' },
      ]);
      respond(answers.slice(0, 1));
      respond(answers.slice(1));
    },
    () => undefined,
  );
  tcp = createServer(aedes.handle);
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
});

const connect = (timeoutMs?: number) =>
  DynsecControl.connect({
    url,
    username: 'admin',
    password: 'pw',
    logger: pino({ level: 'silent' }),
    timeoutMs,
  });

describe('DynsecControl', () => {
  it("matches each answer to its command by correlation, whatever the order, and ignores others' answers", async () => {
    const control = await connect();
    try {
      const answers = await control.run([
        { command: 'getClient', username: 'tp01' },
        { command: 'disableClient', username: 'ghost' },
        { command: 'getClient', username: 'tp02' },
      ]);
      expect(answers).toEqual([
        { command: 'getClient', data: { client: { username: 'tp01' } } },
        { command: 'disableClient', error: 'Client not found' },
        { command: 'getClient', data: { client: { username: 'tp02' } } },
      ]);
    } finally {
      await control.close();
    }
  });

  it('throws for a failed command unless its error is tolerated', async () => {
    const control = await connect();
    try {
      await expect(control.expect([{ command: 'disableClient', username: 'ghost' }])).rejects.toThrow(
        new DynsecError('disableClient', 'Client not found'),
      );
      await expect(
        control.expect([{ command: 'disableClient', username: 'ghost' }], {
          disableClient: ['Client not found'],
        }),
      ).resolves.toHaveLength(1);
    } finally {
      await control.close();
    }
  });

  it('gives up on a broker that does not answer, naming the commands', async () => {
    const control = await connect(200);
    silence = true;
    try {
      await expect(control.run([{ command: 'listClients' }])).rejects.toThrow(
        /listClients failed: no answer/,
      );
    } finally {
      silence = false;
      await control.close();
    }
  });
});
