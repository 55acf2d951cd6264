import type { RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  documentPermission,
  forbiddenDescription,
  PASSWORD_CHANGE_REQUIRED_DESCRIPTION,
  UNAUTHORIZED_DESCRIPTION,
} from './route-permissions';

function route(permission: string, schema: Record<string, unknown> = {}): RouteOptions {
  return {
    method: 'GET',
    url: '/x',
    handler: () => undefined,
    config: { permission },
    schema,
  } as unknown as RouteOptions;
}

function responses(r: RouteOptions): Record<string, { description?: string }> {
  return (r.schema as { response?: Record<string, { description?: string }> }).response ?? {};
}

describe('documentPermission', () => {
  it('adds 401 and 403 to a route some role may not call, and the permission with its roles to the text', () => {
    const r = route('robots:manage', { description: 'Registers a robot.', response: { 200: {} } });
    documentPermission(r);
    expect((r.schema as { description: string }).description).toBe(
      'Registers a robot. Permission: robots:manage (admin).',
    );
    expect(Object.keys(responses(r)).sort()).toEqual(['200', '401', '403']);
    expect(responses(r)[401]?.description).toBe(UNAUTHORIZED_DESCRIPTION);
    expect(responses(r)[403]?.description).toContain(forbiddenDescription('robots:manage'));
    expect(responses(r)[403]?.description).toContain('(`password_change_required`)');
    expect(forbiddenDescription('robots:control')).toContain('it takes admin or operator');
  });

  it('adds only 401 to a self route, and 401 and the temporary-password 403 where every role has the permission', () => {
    const self = route('self');
    documentPermission(self);
    expect(Object.keys(responses(self))).toEqual(['401']);
    const read = route('robots:read');
    documentPermission(read);
    expect(Object.keys(responses(read)).sort()).toEqual(['401', '403']);
    expect(responses(read)[403]?.description).toBe(PASSWORD_CHANGE_REQUIRED_DESCRIPTION);
  });

  it('adds neither to a public route, keeping a 401 the route declares for its own reason', () => {
    const own = { description: 'Wrong username or password' };
    const r = route('public', { response: { 401: own } });
    documentPermission(r);
    expect(responses(r)).toEqual({ 401: own });
    expect((r.schema as { description: string }).description).toBe('Permission: public (no sign-in).');
  });

  it('replaces a sentence a route still writes by hand, so the text names the permission once', () => {
    const r = route('live:read', { description: 'The live stream. Permission: live:read.' });
    documentPermission(r);
    expect((r.schema as { description: string }).description).toBe(
      'The live stream. Permission: live:read (admin, operator, viewer).',
    );
  });
});
