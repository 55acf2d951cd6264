import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium: the only browser the tests use (never one a tool downloads). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Before the browser tests: the web app built from the current sources (the server serves it), and
 * Chromium present. On a machine without it, as root with apt (a fresh machine of this project's kind),
 * it is installed from Debian's packages; anywhere else the run stops saying how to install it.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['packages/web/scripts/ensure-built.mjs'], { stdio: 'inherit' });
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  if (root && existsSync('/usr/bin/apt-get')) {
    console.log('e2e: installing Debian chromium (apt-get install -y chromium)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const res = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
    if (res.status === 0 && existsSync(CHROMIUM)) return;
  }
  throw new Error(
    `The browser tests need Debian's Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (as root) and try again`,
  );
}
