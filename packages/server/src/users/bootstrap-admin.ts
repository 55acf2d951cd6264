import { MIN_PASSWORD_LENGTH as MIN_ADMIN_PASSWORD_LENGTH } from '@tonypi/contracts';
import { StartupError } from '../startup-error';
import { generatePassword, hashPassword } from './passwords';
import { isUniqueViolation, type UsersRepository } from './users.repository';

export interface EnsureAdminOptions {
  /** ADMIN_PASSWORD; a random one is generated when absent. */
  password?: string;
  username?: 'admin';
}

export interface EnsureAdminResult {
  created: boolean;
  username: string;
  /** Set only when this call generated the password: the caller shows it once, and it is never stored. */
  generatedPassword?: string;
}

/**
 * The first start creates an administrator; later starts change nothing (a password is never reset here).
 * No default password exists: it comes from ADMIN_PASSWORD or is generated. Nothing here logs it.
 */
export async function ensureAdmin(
  users: UsersRepository,
  options: EnsureAdminOptions = {},
): Promise<EnsureAdminResult> {
  const username = options.username ?? 'admin';
  if ((await users.count()) > 0) return { created: false, username };

  const given = options.password;
  if (given !== undefined && [...given].length < MIN_ADMIN_PASSWORD_LENGTH) {
    throw new StartupError(
      `ADMIN_PASSWORD is too short: the first administrator's password needs at least ` +
        `${MIN_ADMIN_PASSWORD_LENGTH} characters. Set a longer one, or unset it to have one generated.`,
    );
  }
  const password = given ?? generatePassword();
  try {
    await users.create({
      username,
      email: `${username}@localhost`,
      password_hash: await hashPassword(password),
      role: 'admin',
    });
  } catch (error) {
    // Another instance starting at the same moment created it first.
    if (isUniqueViolation(error)) return { created: false, username };
    throw error;
  }
  return given === undefined
    ? { created: true, username, generatedPassword: password }
    : { created: true, username };
}
