import { ErrorBody, type Permission, ROLES, type Role, roleMay } from '@tonypi/contracts';
import type { RouteOptions } from 'fastify';

/** The roles that have the permission, least trusted first as ROLES lists them. */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((role) => roleMay(role, permission));
}

/** The sentence each operation's description ends with. */
export function permissionSentence(permission: Permission): string {
  if (permission === 'public') return 'Permission: public (no sign-in).';
  if (permission === 'self') return 'Permission: self (any signed-in user or API key).';
  return `Permission: ${permission} (${rolesWith(permission).join(', ')}).`;
}

export const UNAUTHORIZED_DESCRIPTION = 'Not signed in, or the session has expired or ended (`unauthorized`)';

export function forbiddenDescription(permission: Permission): string {
  return `Signed in, but the role may not ${permission} (\`forbidden\`): it takes ${rolesWith(permission).join(' or ')}`;
}

/** The guard's other 403: a session whose user must replace a temporary password (every route but public and self). */
export const PASSWORD_CHANGE_REQUIRED_DESCRIPTION =
  'Signed in with a temporary password: set your own with POST /api/v1/auth/password first (`password_change_required`)';

/** A sentence a route still writes by hand: replaced, so the text names the permission once. */
const HAND_WRITTEN = /\s*Permission: [a-z_:]+\.?/g;

/**
 * An `onRoute` hook: what a route's declared permission implies, written into its OpenAPI schema, so routes
 * never write it by hand. Every non-public route answers 401 `unauthorized` without a valid session, 403
 * `forbidden` when some role lacks its permission, and (but `self` routes) 403 `password_change_required` to
 * a session signed in with a temporary password; its description ends with the permission and the roles
 * that have it, and the operation carries it as `x-permission`. Routes without a permission are refused elsewhere (the auth plugin's check).
 */
export function documentPermission(route: RouteOptions): void {
  const permission = route.config?.permission;
  if (!permission) return;
  const schema = { ...(route.schema ?? {}) } as NonNullable<RouteOptions['schema']> & {
    description?: string;
    response?: Record<string | number, unknown>;
  };
  const own = (schema.description ?? '').replace(HAND_WRITTEN, '').trim();
  schema.description = own ? `${own} ${permissionSentence(permission)}` : permissionSentence(permission);
  if (permission !== 'public') {
    const response = { ...(schema.response ?? {}) };
    response[401] = ErrorBody.describe(UNAUTHORIZED_DESCRIPTION);
    if (rolesWith(permission).length < ROLES.length) {
      response[403] = ErrorBody.describe(
        `${forbiddenDescription(permission)}; or ${lowerFirst(PASSWORD_CHANGE_REQUIRED_DESCRIPTION)}`,
      );
    } else if (permission !== 'self') {
      response[403] = ErrorBody.describe(PASSWORD_CHANGE_REQUIRED_DESCRIPTION);
    }
    schema.response = response;
  }
  // Machine-readable too: clients and the route × role test read it from the document, not from prose.
  route.schema = { ...schema, 'x-permission': permission } as NonNullable<RouteOptions['schema']>;
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
