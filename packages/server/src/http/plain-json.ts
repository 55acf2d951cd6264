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

/**
 * A route serializer for large answers built from typed DTOs (`z.infer` of the response schema): plain
 * `JSON.stringify`, without the zod encode pass over the whole answer (see sendJson).
 */
export const plainJsonSerializer = () => (data: unknown) => JSON.stringify(data);
