/** Raw MQTT bytes for broker tests that need to send what a well-behaved client never would. */

/** MQTT's remaining-length encoding: 7 bits per byte, low first, the high bit set on all but the last. */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
