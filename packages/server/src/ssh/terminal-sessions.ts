import type { TerminalBridge } from './terminal-bridge';

/**
 * The terminals open on this server: the per-user limit, the counts health and metrics read, and the list
 * shutdown ends.
 */
export class TerminalSessions {
  readonly counters = { started: 0, failed: 0, refused_limit: 0, bytes_in: 0, bytes_out: 0 };
  private readonly open = new Map<TerminalBridge, string>();
  /** Session records being written: shutdown waits for them before the database closes. */
  private readonly writes = new Set<Promise<unknown>>();

  constructor(private readonly maxPerUser: number) {}

  get size(): number {
    return this.open.size;
  }

  countFor(userId: string): number {
    let n = 0;
    for (const owner of this.open.values()) if (owner === userId) n++;
    return n;
  }

  /** False (and counted) when the user is at the limit. */
  mayOpen(userId: string): boolean {
    if (this.countFor(userId) < this.maxPerUser) return true;
    this.counters.refused_limit++;
    return false;
  }

  get limit(): number {
    return this.maxPerUser;
  }

  add(bridge: TerminalBridge, userId: string): void {
    this.open.set(bridge, userId);
    this.counters.started++;
  }

  remove(bridge: TerminalBridge, bytes: { in: number; out: number }, failed: boolean): void {
    if (!this.open.delete(bridge)) return;
    this.counters.bytes_in += bytes.in;
    this.counters.bytes_out += bytes.out;
    if (failed) this.counters.failed++;
  }

  track(write: Promise<unknown>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /** Ends every open terminal (shutdown), each saying why in its last frame, and waits for their records. */
  async endAll(): Promise<void> {
    for (const bridge of [...this.open.keys()]) bridge.end('server_shutdown', 'The server is shutting down');
    await Promise.allSettled([...this.writes]);
  }
}
