import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's poppler-utils: the report tests read generated PDFs back as text with it. */
export const PDFTOTEXT = '/usr/bin/pdftotext';

/**
 * Before the server tests: the PDF tests need `pdftotext`. On a machine of this kind (Debian, root) it is
 * installed from Debian's packages when missing, as the browser tests install Chromium; elsewhere the run
 * stops here saying what to install.
 */
export default function setup(): void {
  if (existsSync(PDFTOTEXT)) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log(
      'server tests: installing Debian poppler-utils (apt-get install -y poppler-utils) for the PDF tests…',
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const res = spawnSync('apt-get', ['install', '-y', '-qq', 'poppler-utils'], { stdio: 'inherit', env });
    if (res.status === 0 && existsSync(PDFTOTEXT)) return;
  }
  throw new Error(
    `The report tests need ${PDFTOTEXT}: run \`apt-get install -y poppler-utils\` (as root) and try again`,
  );
}
