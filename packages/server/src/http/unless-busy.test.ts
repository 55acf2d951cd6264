import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors';
import { StoreBusyError } from '../telemetry/store-busy-error';
import { TelemetryStoreUnavailableError } from '../telemetry/telemetry-store';
import { STORE_DOWN_RETRY_AFTER_S, unlessBusy } from './unless-busy';

function fakeReply(): { reply: FastifyReply; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const reply = {
    header(name: string, value: string) {
      headers[name] = value;
      return reply;
    },
  } as unknown as FastifyReply;
  return { reply, headers };
}

describe('unlessBusy', () => {
  it('passes the answer of a read through', async () => {
    const { reply, headers } = fakeReply();
    await expect(unlessBusy(reply, async () => 42)).resolves.toBe(42);
    expect(headers).toEqual({});
  });

  it('answers 503 service_unavailable with Retry-After when the store is too busy', async () => {
    const { reply, headers } = fakeReply();
    const err = await unlessBusy(reply, async () => {
      throw new StoreBusyError(4);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 503, code: 'service_unavailable' });
    expect(headers['retry-after']).toBe('1');
  });

  it('answers 503 with Retry-After, not 500, while the store is down and recovering (full disk)', async () => {
    const { reply, headers } = fakeReply();
    const err = await unlessBusy(reply, async () => {
      throw new TelemetryStoreUnavailableError('telemetry database unavailable (No space left on device)');
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 503, code: 'service_unavailable' });
    expect((err as Error).message).toMatch(/recovering/);
    expect(headers['retry-after']).toBe(String(STORE_DOWN_RETRY_AFTER_S));
  });

  it('lets any other error through unchanged', async () => {
    const { reply } = fakeReply();
    const boom = new Error('boom');
    await expect(
      unlessBusy(reply, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
