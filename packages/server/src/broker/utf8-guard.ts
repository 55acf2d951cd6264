/**
 * Refuses MQTT strings (topics, topic filters, client ids, will topics, user names) that are not well-formed
 * UTF-8. mqtt-packet decodes them with Buffer#toString, which turns invalid bytes into U+FFFD, so Aedes would
 * accept `tonypi/\xff/status` as `tonypi/\uFFFD/status`; MQTT 3.1.1 §1.5.3 (and 5.0 §1.5.4) requires the
 * server to close the connection instead.
 */
import { isUtf8 } from 'node:buffer';

/** The part of mqtt-packet's Parser (9.x) the guard wraps; its own methods, so tested against the real one. */
export interface StringParser {
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseString(): string | null;
  _emitError(err: Error): void;
}

/**
 * Wraps `parser`'s string decoding: a string whose bytes are not valid UTF-8, or that holds U+0000 (MQTT
 * forbids it too), is a parse error, so the broker closes the connection and the packet goes nowhere.
 * Only a decoded string that contains U+FFFD has its bytes checked: the cost on valid traffic is one scan of
 * a short string.
 */
export function refuseMalformedStrings(parser: StringParser, onMalformed: (what: string) => void): void {
  const parseString = parser._parseString;
  parser._parseString = function (this: StringParser) {
    // The string's bytes follow its two-byte length.
    const start = this._pos + 2;
    const result = parseString.call(this);
    if (result === null) return result;
    let problem: string | undefined;
    if (result.includes('\uFFFD') && !isUtf8(this._list.slice(start, this._pos))) problem = 'malformed UTF-8';
    else if (result.includes('\u0000')) problem = 'U+0000';
    if (problem === undefined) return result;
    onMalformed(problem);
    this._emitError(new Error(`MQTT string with ${problem} (MQTT-1.5.3-1, MQTT-1.5.3-2)`));
    return null;
  };
}
