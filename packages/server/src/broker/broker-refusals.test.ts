import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerRefusals } from './broker-refusals';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('BrokerRefusals', () => {
  it('counts every refusal and logs the first of a reason at once, then one line per 10 s with the rest', () => {
    const { logger, lines } = capture();
    let clock = 0;
    const refusals = new BrokerRefusals(logger, 10_000, () => clock);
    for (let i = 0; i < 5; i++)
      refusals.note('retained_too_large', { topic: `t/${i}` }, 'mqtt: retained message not kept');
    refusals.note('connections_per_address', { remote: '192.0.2.1' }, 'mqtt connection refused');
    clock = 10_000;
    refusals.note('retained_too_large', { topic: 't/5' }, 'mqtt: retained message not kept');

    expect(refusals.counts()).toMatchObject({
      retained_too_large: 6,
      connections_per_address: 1,
      malformed_string: 0,
    });
    expect(lines.map((l) => [l.level, l.reason, l.topic ?? l.remote, l.suppressed, l.msg])).toEqual([
      [40, 'retained_too_large', 't/0', 0, 'mqtt: retained message not kept'],
      [40, 'connections_per_address', '192.0.2.1', 0, 'mqtt connection refused'],
      [40, 'retained_too_large', 't/5', 4, 'mqtt: retained message not kept'],
    ]);
  });
});
