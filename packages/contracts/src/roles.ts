/**
 * Who may do what (seed 001 §8.2). Every route declares one permission; `public` routes need no
 * session, `self` routes need any signed-in user or API key (their own session, password, profile).
 * The OpenAPI text's 401/403 lines are generated from the route's permission; the route × role test
 * walks every route with a session of each role.
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'public',
  'self',
  'robots:read',
  'telemetry:read',
  'live:read',
  'system:read',
  /** Register, edit, delete, restore and claim robots; rotate their MQTT credentials. */
  'robots:manage',
  /** Send commands and emergency stops, manage alerts and jobs (the operations issue). */
  'robots:control',
  'users:manage',
  'api_keys:manage',
  'audit:read',
  /** Read the server's and the robots' logs, and export them (every role). */
  'logs:read',
  /** Create, edit and reset alert rules; create and end silences (operator+). */
  'alerts:configure',
  /** Delete alerts (admin). */
  'alerts:delete',
  /** Notification channels (webhooks, email) and their secrets (admin). */
  'notifications:manage',
  /** The item catalogue: create, edit, import, delete items (operator+). */
  'items:manage',
  /** Commands that take a robot out of service: `shutdown` and `reboot` (admin). */
  'robots:power',
  /** Open an SSH terminal to a robot and set its SSH settings (operator+); re-trusting a host key is robots:manage. */
  'robots:terminal',
  /** Generate, cancel and delete reports, manage report schedules (operator+); reading them is robots:read. */
  'reports:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = [
  'public',
  'self',
  'robots:read',
  'telemetry:read',
  'live:read',
  'system:read',
  'logs:read',
];
const OPERATE: Permission[] = [
  ...READ,
  'robots:control',
  'alerts:configure',
  'items:manage',
  'robots:terminal',
  'reports:manage',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set<Permission>([
    ...OPERATE,
    'robots:manage',
    'users:manage',
    'api_keys:manage',
    'audit:read',
    'alerts:delete',
    'notifications:manage',
    'robots:power',
  ]),
  operator: new Set<Permission>(OPERATE),
  viewer: new Set<Permission>(READ),
};

export function roleMay(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** Roles from least to most trusted: an API key's role may be no higher than its creator's. */
export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** Each role may do what the roles below it may (tested): `roleAtMost('operator', 'admin')` is true. */
export function roleAtMost(role: Role, ceiling: Role): boolean {
  return ROLE_RANK[role] <= ROLE_RANK[ceiling];
}
