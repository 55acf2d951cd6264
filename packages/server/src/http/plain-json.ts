import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * Sends JSON that is already serialised (a shared or cached answer), for hot routes whose answers are
 * large: fastify-type-provider-zod's serializer would run a zod encode of the whole answer before
 * `JSON.stringify`, on the event loop the ingest shares (a 100-robot list: ~15 ms instead of ~1 ms; a 24 h
 * range of 12 fields: ~50 ms instead of ~18 ms, docs/performance.md). These routes build their answer from
 * typed DTOs (`z.infer` of the response schema); the schema still documents the route. Fastify passes a
 * string or a Buffer (UTF-8 JSON) through without serialising it again.
 */
export function sendJson<T>(reply: FastifyReply, json: string | Buffer): T {
  reply.type('application/json; charset=utf-8').send(json);
  // The reply is sent; what the handler "returns" is never serialised.
  return reply as unknown as T;
}

/** Pieces smaller than this are joined before they are written; bigger ones are written as they are. */
const JOIN_BELOW_BYTES = 16 * 1024;

/**
 * Sends JSON held in pieces without joining the whole answer into one buffer first. A 24 h range answer is
 * ~1.2 MB, most of it slices of cached text (the closed buckets): a join per answer copied all of it, ~12 %
 * of the server's main thread under `bench:load`. Runs of small pieces are joined; the big ones go as they are.
 */
export function sendJsonPieces<T>(reply: FastifyReply, pieces: readonly Buffer[]): T {
  const chunks: Buffer[] = [];
  let small: Buffer[] = [];
  let bytes = 0;
  const join = () => {
    if (small.length > 0) chunks.push(small.length === 1 ? small[0]! : Buffer.concat(small));
    small = [];
  };
  for (const piece of pieces) {
    bytes += piece.length;
    if (piece.length < JOIN_BELOW_BYTES) small.push(piece);
    else {
      join();
      chunks.push(piece);
    }
  }
  join();
  reply
    .type('application/json; charset=utf-8')
    .header('content-length', bytes)
    .send(Readable.from(chunks, { objectMode: false }));
  return reply as unknown as T;
}

/**
 * A route serializer for large answers built from typed DTOs (`z.infer` of the response schema): plain
 * `JSON.stringify`, without the zod encode pass over the whole answer (see sendJson).
 */
export const plainJsonSerializer = () => (data: unknown) => JSON.stringify(data);
