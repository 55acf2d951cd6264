/**
 * Who may do what. Every route declares one permission; `public` routes need no session.
 * User management and finer roles arrive with their own issue; the table is already the one
 * place that decides.
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['public', 'robots:read', 'telemetry:read', 'live:read', 'system:read'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['robots:read', 'telemetry:read', 'live:read', 'system:read'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set<Permission>(['public', ...READ]),
  operator: new Set<Permission>(['public', ...READ]),
  viewer: new Set<Permission>(['public', ...READ]),
};

export function roleMay(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
