import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJsonPieces } from './plain-json';

const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(pieces: Buffer[]) {
  const app = Fastify();
  apps.push(app);
  app.get('/', async (_req, reply) => sendJsonPieces(reply, pieces));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return fetch(`http://127.0.0.1:${address.port}/`);
}

describe('sendJsonPieces (a range answer sent without joining it)', () => {
  it('sends the pieces in order, big ones and runs of small ones, with the byte length and JSON type', async () => {
    // A big piece (slices of cached text are sent as they are) between small ones, and non-ASCII text.
    const big = Buffer.from(`"${'é'.repeat(40_000)}"`);
    const pieces = [Buffer.from('{"a":'), big, Buffer.from(',"b":['), Buffer.from('1'), Buffer.from(',2]}')];

    const res = await serve(pieces);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-length')).toBe(String(Buffer.concat(pieces).length));
    const body = await res.json();
    expect(body).toEqual({ a: 'é'.repeat(40_000), b: [1, 2] });
  });

  it('sends an answer of one small piece as it is', async () => {
    const res = await serve([Buffer.from('{"series":[]}')]);
    expect(res.headers.get('content-length')).toBe('13');
    expect(await res.json()).toEqual({ series: [] });
  });
});
