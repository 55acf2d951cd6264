import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLoopbackBroker } from '../test-fakes';
import type { EmbeddedBroker } from './embedded-broker';

describe('EmbeddedBroker.stopIntake (the first step of a shutdown)', () => {
  let broker: EmbeddedBroker;
  let delivered: string[];

  beforeEach(async () => {
    broker = await startLoopbackBroker();
    delivered = [];
    // An in-process subscriber, like the ingest.
    await new Promise<void>((resolve) =>
      broker.aedes.subscribe(
        'tonypi/+/battery',
        (packet, cb) => {
          delivered.push(packet.payload.toString());
          cb();
        },
        resolve,
      ),
    );
  });
  afterEach(async () => {
    await broker.close();
  });

  const connect = (clientId: string) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId, reconnectPeriod: 0 });

  it('refuses a QoS 1 publish without acknowledging it, after delivering every one it acknowledged', async () => {
    const robot = await connect('tonypi_drain');
    robot.on('error', () => undefined);
    await robot.publishAsync('tonypi/tonypi_drain/battery', '{"percent":1}', { qos: 1 });
    expect(await broker.stopIntake()).toBe(0);
    expect(delivered).toEqual(['{"percent":1}']);

    let acknowledged = false;
    const closed = new Promise<void>((resolve) => robot.once('close', () => resolve()));
    robot.publish('tonypi/tonypi_drain/battery', '{"percent":2}', { qos: 1 }, (err) => {
      if (!err) acknowledged = true;
    });
    await closed;
    // No PUBACK: the robot keeps the message and sends it again to the next server.
    expect(acknowledged).toBe(false);
    expect(delivered).toEqual(['{"percent":1}']);
    await robot.endAsync(true);
  });

  it('refuses new connections as "server unavailable"', async () => {
    await broker.stopIntake();
    await expect(connect('tonypi_late')).rejects.toThrow(/Server unavailable/i);
  });

  it('still delivers what the server itself publishes', async () => {
    await broker.stopIntake();
    await new Promise<void>((resolve, reject) =>
      broker.aedes.publish(
        {
          cmd: 'publish',
          topic: 'tonypi/tonypi_srv/battery',
          payload: Buffer.from('{"percent":3}'),
          qos: 0,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    expect(delivered).toEqual(['{"percent":3}']);
  });
});
