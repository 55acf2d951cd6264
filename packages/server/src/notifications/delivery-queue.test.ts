import { waitFor } from '@tonypi/agent/testing';
import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from './attempt';
import { backoffMs, DeliveryQueue, MAX_RETRY_DELAY_MS } from './delivery-queue';

const ok: AttemptOutcome = {
  ok: true,
  retryable: false,
  code: 200,
  response: null,
  error: null,
  durationMs: 1,
};
const transient: AttemptOutcome = { ...ok, ok: false, retryable: true, code: 503, error: 'HTTP 503' };
const refused: AttemptOutcome = { ...ok, ok: false, retryable: false, code: 400, error: 'HTTP 400' };

/** An attempt that waits until released (or aborted). */
function gate() {
  const waiting: Array<{ item: string; release: (o: AttemptOutcome) => void; signal: AbortSignal }> = [];
  return {
    waiting,
    attempt: (item: string, _n: number, signal: AbortSignal) =>
      new Promise<AttemptOutcome>((resolve) => {
        waiting.push({ item, release: resolve, signal });
        signal.addEventListener('abort', () => resolve({ ...transient, error: 'aborted' }));
      }),
  };
}

interface Settled {
  item: string;
  attempt: number;
  ok: boolean;
  retryInMs: number | undefined;
}

function queueWith(
  attempt: (item: string, n: number, signal: AbortSignal) => Promise<AttemptOutcome>,
  over: Partial<{ limit: number; concurrency: number; attempts: number; retryBaseMs: number }> = {},
) {
  const settled: Settled[] = [];
  const queue = new DeliveryQueue<string>({
    limit: over.limit ?? 100,
    concurrency: over.concurrency ?? 1,
    attempts: over.attempts ?? 3,
    retryBaseMs: over.retryBaseMs ?? 5,
    random: () => 1,
    work: {
      attempt,
      settled: async (item, n, outcome, retryInMs) => {
        settled.push({ item, attempt: n, ok: outcome.ok, retryInMs });
      },
    },
  });
  return { queue, settled };
}

describe('backoffMs', () => {
  it('doubles the wait per attempt made, with jitter between half and all of it, capped', () => {
    expect([2, 3, 4, 5].map((n) => backoffMs(n, 1000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(3, 1000, () => 0)).toBe(1000);
    expect(backoffMs(40, 1000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe('DeliveryQueue', () => {
  it('keeps a hanging lane from holding up another lane', async () => {
    const hanging = gate();
    const { queue, settled } = queueWith((item, n, signal) =>
      item.startsWith('slow') ? hanging.attempt(item, n, signal) : Promise.resolve(ok),
    );
    expect(queue.enqueue(1, 'slow-1')).toBe('queued');
    expect(queue.enqueue(1, 'slow-2')).toBe('queued');
    expect(queue.enqueue(2, 'fast')).toBe('queued');
    await waitFor(() => settled.find((s) => s.item === 'fast'), 2000, 'the other lane');
    // Lane 1 has one slot: its second delivery waits behind the first, still in flight.
    expect(hanging.waiting.map((w) => w.item)).toEqual(['slow-1']);
    hanging.waiting[0]?.release(ok);
    await waitFor(() => hanging.waiting.length === 2 || undefined, 2000, 'the next of lane 1');
    hanging.waiting[1]?.release(ok);
    await waitFor(() => queue.size === 0 || undefined, 2000, 'an empty queue');
  });

  it('refuses a delivery past its limit, counting in flight and waiting ones', async () => {
    const hanging = gate();
    const { queue } = queueWith(hanging.attempt, { limit: 2 });
    expect(queue.enqueue(1, 'a')).toBe('queued');
    expect(queue.enqueue(2, 'b')).toBe('queued');
    expect(queue.enqueue(3, 'c')).toBe('full');
    expect(queue.size).toBe(2);
    for (const w of hanging.waiting) w.release(ok);
    await waitFor(() => queue.size === 0 || undefined, 2000, 'room again');
    expect(queue.enqueue(3, 'c')).toBe('queued');
  });

  it('retries a transient failure until it succeeds, and reports each attempt', async () => {
    let calls = 0;
    const { queue, settled } = queueWith(async () => (++calls < 3 ? transient : ok));
    queue.enqueue(1, 'x');
    await waitFor(() => settled.find((s) => s.ok), 2000, 'success');
    expect(settled).toEqual([
      { item: 'x', attempt: 1, ok: false, retryInMs: 5 },
      { item: 'x', attempt: 2, ok: false, retryInMs: 10 },
      { item: 'x', attempt: 3, ok: true, retryInMs: undefined },
    ]);
  });

  it('stops after the last attempt, and at once for a failure not worth retrying', async () => {
    const { queue, settled } = queueWith(async (item) => (item === 'refused' ? refused : transient), {
      attempts: 2,
    });
    queue.enqueue(1, 'refused');
    queue.enqueue(2, 'flaky');
    await waitFor(() => (queue.size === 0 ? true : undefined), 2000, 'both settled');
    expect(settled.filter((s) => s.item === 'refused')).toEqual([
      { item: 'refused', attempt: 1, ok: false, retryInMs: undefined },
    ]);
    expect(settled.filter((s) => s.item === 'flaky').map((s) => s.retryInMs)).toEqual([5, undefined]);
  });

  it('honours a Retry-After longer than the backoff', async () => {
    let calls = 0;
    const { queue, settled } = queueWith(async () =>
      ++calls === 1 ? { ...transient, retryAfterMs: 50 } : ok,
    );
    queue.enqueue(1, 'x');
    await waitFor(() => settled.find((s) => s.ok), 2000, 'success');
    expect(settled[0]?.retryInMs).toBe(50);
  });

  it('at stop: takes nothing new, gives attempts in flight the grace period, then aborts them', async () => {
    const hanging = gate();
    const { queue, settled } = queueWith(
      (item, n, signal) => (item === 'retry' ? Promise.resolve(transient) : hanging.attempt(item, n, signal)),
      { retryBaseMs: 60_000 },
    );
    queue.enqueue(1, 'in-flight');
    queue.enqueue(1, 'never-started');
    queue.enqueue(2, 'retry');
    await waitFor(() => queue.waitingRetry === 1 || undefined, 2000, 'a retry scheduled');
    const stopped = queue.stop(20);
    expect(queue.enqueue(3, 'late')).toBe('stopped');
    const { unsent, waitingRetry } = await stopped;
    expect(unsent).toEqual(['never-started']);
    expect(waitingRetry).toEqual(['retry']);
    expect(hanging.waiting[0]?.signal.aborted).toBe(true);
    // The aborted attempt settles as failed: no retry is scheduled while stopping.
    expect(settled.find((s) => s.item === 'in-flight')).toEqual({
      item: 'in-flight',
      attempt: 1,
      ok: false,
      retryInMs: undefined,
    });
    expect(queue.size).toBe(0);
  });

  it('lets an attempt that finishes within the grace period finish', async () => {
    const hanging = gate();
    const { queue, settled } = queueWith(hanging.attempt);
    queue.enqueue(1, 'x');
    await waitFor(() => hanging.waiting.length === 1 || undefined, 2000, 'in flight');
    const stopped = queue.stop(5000);
    hanging.waiting[0]?.release(ok);
    await stopped;
    expect(hanging.waiting[0]?.signal.aborted).toBe(false);
    expect(settled).toEqual([{ item: 'x', attempt: 1, ok: true, retryInMs: undefined }]);
  });

  it('drops what a deleted lane still had to send', async () => {
    const hanging = gate();
    const { queue } = queueWith(hanging.attempt);
    queue.enqueue(1, 'a');
    queue.enqueue(1, 'b');
    queue.enqueue(1, 'c');
    expect(queue.dropLane(1)).toBe(2);
    expect(queue.size).toBe(1);
    hanging.waiting[0]?.release(ok);
    await waitFor(() => queue.size === 0 || undefined, 2000, 'empty');
    expect(hanging.waiting).toHaveLength(1);
  });
});
