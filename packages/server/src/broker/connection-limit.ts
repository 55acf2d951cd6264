/**
 * Open MQTT connections per remote address, so one host cannot take every socket and session of the embedded
 * broker. Robots behind one NAT share an address: the limit is generous and configurable
 * (`MQTT_MAX_CONNECTIONS_PER_ADDRESS`, 0 = none).
 */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerAddress: number) {}

  /**
   * Counts a new connection from `address` (counted until `release`); false when the address already held
   * the maximum before it.
   */
  acquire(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    this.open.set(address, n + 1);
    return this.maxPerAddress === 0 || n < this.maxPerAddress;
  }

  release(address: string): void {
    const n = (this.open.get(address) ?? 1) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  /** Connections open from `address` now. */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}

/** One key per host: an IPv4 address reached over an IPv6 socket (`::ffff:a.b.c.d`) is that IPv4 address. */
export function addressKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}
