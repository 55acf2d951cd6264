import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat } from './logger';

/** A stream that keeps what is written to it; `isTTY` makes it pass for a terminal. */
function output(isTTY: boolean): Writable & { isTTY: boolean; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => chunks.join('') });
}

/** An ANSI colour code (ESC [ n m). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`);

function logOnce(format: LogFormat, isTTY: boolean) {
  const out = output(isTTY);
  const logger = createLogger('info', { format, destination: out });
  logger.info({ robot_id: 'tonypi_01' }, 'robot online');
  return out.text();
}

describe('createLogger: lines for a person in a terminal, JSON for machines', () => {
  it('writes coloured one-line entries with a time, the level and the fields when the output is a terminal', () => {
    const text = logOnce('auto', true);
    expect(text).toMatch(ANSI);
    const plain = text.replace(new RegExp(ANSI.source, 'g'), '');
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: robot online \{"robot_id":"tonypi_01"\}\n$/);
  });

  it('writes JSON lines when the output is not a terminal (a pipe, a file, systemd)', () => {
    const text = logOnce('auto', false);
    expect(JSON.parse(text)).toMatchObject({ level: 30, msg: 'robot online', robot_id: 'tonypi_01' });
  });

  it('writes JSON lines to a terminal too with LOG_FORMAT=json', () => {
    expect(JSON.parse(logOnce('json', true))).toMatchObject({ msg: 'robot online' });
  });

  it('writes readable lines, without colour codes, to a pipe with LOG_FORMAT=pretty', () => {
    const text = logOnce('pretty', false);
    expect(text).not.toMatch(ANSI);
    expect(text).toMatch(/ INFO: robot online \{"robot_id":"tonypi_01"\}$/m);
  });

  it('writes each line when it is logged, so what the process prints itself comes after it', () => {
    const out = output(true);
    createLogger('info', { format: 'pretty', destination: out }).info('started');
    out.write('banner\n');
    expect(out.text()).toMatch(/INFO.*started.*\n.*banner\n$/s);
  });
});

describe('createLogger: secrets never reach a log line', () => {
  const SECRET = 's3cret-value-9f8e7d';
  const entry = {
    req: { headers: { authorization: `Bearer ${SECRET}`, cookie: `tonypi_session=${SECRET}` } },
    res: { headers: { 'set-cookie': `tonypi_session=${SECRET}; HttpOnly` } },
    headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET, 'set-cookie': SECRET },
    password: SECRET,
    user: { password: SECRET, token: SECRET },
    reply: { cookie: SECRET, 'set-cookie': [SECRET] },
    login: { access_token: SECRET },
    'set-cookie': SECRET,
    authorization: SECRET,
  };

  for (const [format, isTTY] of [
    ['json', false],
    ['pretty', true],
  ] as const) {
    it(`redacts authorization, cookie, set-cookie, password and tokens (${format})`, () => {
      const out = output(isTTY);
      createLogger('info', { format, destination: out }).info(entry, 'request');
      const text = out.text();
      expect(text).toContain('request');
      expect(text).not.toContain(SECRET);
      expect(text).toContain('[redacted]');
    });
  }
});
