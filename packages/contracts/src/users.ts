import { z } from 'zod';
import { text } from './payloads';
import { ROLES } from './roles';

/** User management (`/api/v1/users`, admin only): request and response shapes. */

/** Letters (any script), digits, `.`, `_`, `-` and `@`: no spaces, quotes, angle brackets or controls. */
export const USERNAME_RE = /^[\p{L}\p{N}._@-]{1,50}$/u;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

export const Username = z
  .string()
  .regex(USERNAME_RE, 'letters, digits, ".", "_", "-" and "@", 1 to 50 characters')
  .describe('1-50 letters, digits, ".", "_", "-" or "@"');

/** Stored lower-case, so `Alice@Example.com` and `alice@example.com` are the same address. */
export const Email = z
  .email('not an e-mail address')
  .max(100)
  .transform((email) => email.toLowerCase())
  .describe('E-mail address (at most 100 characters; stored lower-case)');

/** At least 12 characters (Unicode code points), at most 256. */
export const NewPassword = z
  .string()
  .max(MAX_PASSWORD_LENGTH)
  .refine((p) => [...p].length >= MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`)
  .refine((p) => !p.includes('\u0000'), 'must not contain NUL characters');

const Iso = z.string().describe('ISO-8601 UTC');

export const UserAccount = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    is_active: z.boolean(),
    must_change_password: z
      .boolean()
      .describe('Signed in with a temporary password: must set a new one (POST /api/v1/auth/password)'),
    created_at: Iso,
    updated_at: Iso.nullable(),
  })
  .meta({ id: 'UserAccount' });

export const USER_SORTS = ['username', 'email', 'role', 'created_at'] as const;

const booleanParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('true or false');

export const UserListQuery = z.object({
  role: z.enum(ROLES).optional(),
  active: booleanParam.optional().describe('Only enabled (true) or only disabled (false) users'),
  search: text(64).optional().describe('Substring of username or e-mail, any case'),
  sort: z.enum(USER_SORTS).default('username'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const UserList = z.object({ items: z.array(UserAccount), total: z.number().int() });

export const UserIdParams = z.object({ id: text(64).min(1) });

export const CreateUserRequest = z.strictObject({
  username: Username,
  email: Email,
  role: z.enum(ROLES),
  password: NewPassword.optional().describe(
    'Initial password; without one a temporary password is generated and returned once',
  ),
  must_change_password: z
    .boolean()
    .optional()
    .describe('Make the user set a new password at first sign-in (default: true for a generated one)'),
});

export const UserWithTemporaryPassword = z.object({
  user: UserAccount,
  temporary_password: z
    .string()
    .optional()
    .describe('Only when the server generated the password: shown this once, never stored in clear'),
});

export const UpdateUserRequest = z
  .strictObject({
    email: Email.optional(),
    role: z.enum(ROLES).optional(),
    is_active: z.boolean().optional().describe('false disables the user (their sessions end at once)'),
  })
  .refine((b) => Object.keys(b).length > 0, 'name at least one of email, role, is_active');

export const ResetPasswordRequest = z.strictObject({
  password: NewPassword.optional().describe('The new password; without one a temporary one is generated'),
  must_change_password: z
    .boolean()
    .optional()
    .describe('Make the user set a new password at next sign-in (default: true for a generated one)'),
});
