/**
 * MQTT strings (topics, topic filters, client ids, will topics, user names) must be well-formed UTF-8 and
 * hold no U+0000 (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4); a server closes the connection of a client that sends one
 * that is not. mqtt-packet decodes strings with Buffer#toString, which turns invalid bytes into U+FFFD: so
 * Aedes accepted `tonypi/\xff/status` as `tonypi/\uFFFD/status`. The broker's hooks see only the decoded
 * string, so a string with U+FFFD is refused. That also refuses a correctly encoded U+FFFD, which no topic of
 * the robot protocol holds; telling the two apart means re-reading every string's bytes inside the parser,
 * which was measured to add a third to the parse time of each PUBLISH.
 */

/** What is wrong with an MQTT string, or undefined when nothing is (or there is no string). */
export function malformedString(s: string | undefined | null): string | undefined {
  if (s === undefined || s === null) return undefined;
  if (s.includes('\uFFFD')) return 'malformed UTF-8 (U+FFFD)';
  if (s.includes('\u0000')) return 'U+0000';
  return undefined;
}
