import { z } from 'zod';
import { User } from './api';
import { text } from './payloads';
import { ROLES } from './roles';
// People's passwords follow one rule wherever one is set (users.ts).
import { NewPassword } from './users';

/** REST shapes of sessions (`/api/v1/auth/…`) and API keys (`/api/v1/api-keys`). */

export const PasswordChangeRequest = z.object({
  current_password: z.string().min(1).max(256),
  new_password: NewPassword,
});

const Iso = z.string().describe('ISO-8601 UTC');

/** The most an API key may be given to live (ten years): longer is a key nobody remembers. */
export const API_KEY_MAX_DAYS = 3650;

export const ApiKeyCreateRequest = z
  .object({
    name: text(100).trim().min(1),
    role: z.enum(ROLES),
    expires_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the key stops working (ISO-8601, in the future); or give expires_in_days'),
    expires_in_days: z.number().int().min(1).max(API_KEY_MAX_DAYS).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.expires_at !== undefined && v.expires_in_days !== undefined) {
      for (const field of ['expires_at', 'expires_in_days']) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'give expires_at or expires_in_days, not both',
        });
      }
    }
  });
export type ApiKeyCreateRequest = z.infer<typeof ApiKeyCreateRequest>;

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    /** The user who created it (null once that user is deleted: the key no longer works then). */
    created_by: z.string().nullable(),
    created_at: Iso,
    expires_at: Iso.nullable(),
    last_used_at: Iso.nullable().describe('Written at most once a minute'),
    revoked_at: Iso.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().describe('The key itself, `tpk_…`: shown this once, never again'),
});

export const ApiKeyList = z.object({ items: z.array(ApiKey) });

export const ApiKeyIdParams = z.object({ id: text(64).min(1) });

export const MeResponse = z.object({
  kind: z.enum(['user', 'api_key']),
  /** The person: the signed-in user, or the API key's creator. */
  user: User,
  /** What this session may do: the user's role, or the key's (at most its creator's). */
  role: z.enum(ROLES),
  /** When the session (or key) stops working; null for a key without expiry. */
  expires_at: Iso.nullable(),
  /** The session's id (user sessions). */
  session_id: z.string().optional(),
  /** The key (API keys); its manage view is GET /api/v1/api-keys. */
  api_key: ApiKey.pick({ id: true, name: true, expires_at: true }).optional(),
  /**
   * The user must set a new password (POST /api/v1/auth/password) before this session may call more than
   * public and self routes; always false for an API key.
   */
  must_change_password: z.boolean(),
});

/** `GET /api/v1/auth/session`: always 200, signed in or not (the web app asks it at start-up). */
export const SessionResponse = z.discriminatedUnion('signed_in', [
  z.object({ signed_in: z.literal(false), reason: z.string() }),
  MeResponse.extend({ signed_in: z.literal(true) }),
]);
