import { describe, expect, it } from 'vitest';
import {
  encodeLine,
  encodePoint,
  MAX_TIME_MS,
  quoteIdent,
  quoteString,
  timeBounds,
} from './influx-line-protocol';

describe('encodePoint: a telemetry point as one line of the raw tier', () => {
  it('writes robot_id and the declared tags, fields as floats, the time in ms', () => {
    expect(
      encodePoint({
        measurement: 'servos',
        robot_id: 'tonypi_01',
        tags: { servo_id: '3', undeclared: 'x' },
        ts: 1704067200123,
        fields: { position: 500, voltage_v: 7.4, temperature_c: -0 },
      }),
    ).toBe('servos,robot_id=tonypi_01,servo_id=3 position=500,voltage_v=7.4,temperature_c=0 1704067200123');
  });

  it('escapes commas, equals signs and spaces in a hostile robot id', () => {
    expect(
      encodePoint({
        measurement: 'battery',
        robot_id: `a b,c=d"e'f`,
        ts: 1,
        fields: { percent: 1 },
      }),
    ).toBe(`battery,robot_id=a\\ b\\,c\\=d"e'f percent=1 1`);
  });

  it('refuses what would not come back as sent: backslashes, line breaks, empty ids', () => {
    for (const robot_id of ['back\\', 'a\nb', 'a\rb', '']) {
      expect(
        encodePoint({ measurement: 'battery', robot_id, ts: 1, fields: { percent: 1 } }),
      ).toBeUndefined();
    }
  });

  it('leaves out non-finite values and bad field names, and refuses a point with nothing left', () => {
    expect(
      encodePoint({
        measurement: 'battery',
        robot_id: 'r',
        ts: 1,
        fields: { percent: Number.NaN, voltage_v: Number.POSITIVE_INFINITY, 'Bad Name': 1, current_a: 2 },
      }),
    ).toBe('battery,robot_id=r current_a=2 1');
    expect(
      encodePoint({ measurement: 'battery', robot_id: 'r', ts: 1, fields: { percent: Number.NaN } }),
    ).toBeUndefined();
    expect(
      encodePoint({ measurement: 'nope' as 'battery', robot_id: 'r', ts: 1, fields: { percent: 1 } }),
    ).toBeUndefined();
  });

  it('never writes a field under a tag name, and escapes measurement names', () => {
    expect(
      encodeLine({ measurement: 'a b,c', tags: { robot_id: 'r' }, fields: { robot_id: 1, x: 2 }, ts: 5 }),
    ).toBe('a\\ b\\,c,robot_id=r x=2 5');
  });
});

describe('InfluxQL quoting', () => {
  it('quotes identifiers with " and \\ escaped', () => {
    expect(quoteIdent('pitch_deg')).toBe('"pitch_deg"');
    expect(quoteIdent('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it("quotes string literals with ' and \\ escaped, line breaks as \\n", () => {
    expect(quoteString("tonypi_01' OR '1'='1")).toBe("'tonypi_01\\' OR \\'1\\'=\\'1'");
    expect(quoteString('a\\b\nc')).toBe("'a\\\\b\\nc'");
  });

  it('gives absolute ms bounds, clamped to what an InfluxQL duration holds', () => {
    expect(timeBounds(1000.4, 2000)).toBe('time >= 1000ms AND time < 2000ms');
    expect(timeBounds(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(
      `time >= 0ms AND time < ${MAX_TIME_MS}ms`,
    );
  });
});
