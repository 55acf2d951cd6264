import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { negotiate } from '@fastify/accept-negotiator';
import type { FastifyReply, FastifyRequest } from 'fastify';

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

/** Gzip of shared answers, made once per answer (the Buffer a cache hands every request) and dropped with it. */
const gzipped = new WeakMap<Buffer, Buffer>();

/** Answers smaller than this are sent as they are: gzip would save less than it costs. */
const GZIP_FROM_BYTES = 1024;

/**
 * Sends a shared answer (the same Buffer for every request while it is fresh, e.g. the robot list every
 * dashboard polls) gzipped to a client that accepts it, compressed once for all of them. The 100-robot list
 * is ~94 KB of JSON and ~10 KB gzipped: writing the 94 KB to each of ~400 polls a second was ~5 % of the
 * event loop under `bench:load`, and on a real network each poll is that much data.
 */
export function sendSharedJson<T>(req: FastifyRequest, reply: FastifyReply, json: Buffer): T {
  reply.header('vary', 'accept-encoding');
  const accept = req.headers['accept-encoding'];
  if (
    json.length >= GZIP_FROM_BYTES &&
    typeof accept === 'string' &&
    negotiate(accept, ['gzip', 'identity']) === 'gzip'
  ) {
    let gz = gzipped.get(json);
    if (!gz) {
      gz = gzipSync(json);
      gzipped.set(json, gz);
    }
    reply.header('content-encoding', 'gzip');
    return sendJson(reply, gz);
  }
  return sendJson(reply, json);
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
