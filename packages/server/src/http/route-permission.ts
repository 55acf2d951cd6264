import type { FastifySchema, RouteOptions } from 'fastify';

/**
 * An `onRoute` hook: copies the route's declared permission into its OpenAPI operation as `x-permission`,
 * so clients and the route × role test read it from the document instead of from prose.
 */
export function permissionExtension(route: RouteOptions): void {
  const permission = route.config?.permission;
  if (!permission || !route.schema) return;
  route.schema = { ...route.schema, 'x-permission': permission } as FastifySchema;
}
