import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * A freshly initialised PGlite data directory (a tarball of initdb's output), shipped with the server so a
 * first start loads it instead of running initdb. initdb runs a second PostgreSQL instance and PGlite's
 * initdb module beside the first: it peaks at ~750 MB RSS against ~280 MB for loading the template
 * (docs/performance.md, issue #6 item 11). A template only fits the PGlite build that made it, so it comes with
 * that version, and a server on another version runs initdb as before. `npm run db:template` makes it again.
 */
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '../../assets');
export const TEMPLATE_PATH = join(ASSETS, 'pglite-template.tgz');
export const TEMPLATE_INFO_PATH = join(ASSETS, 'pglite-template.json');

export interface TemplateInfo {
  /** The version of @electric-sql/pglite that made it. */
  pglite: string;
  /** PostgreSQL's major version (the template's PG_VERSION). */
  postgres: string;
}

/** The installed @electric-sql/pglite's version. */
export function pgliteVersion(): string {
  const require = createRequire(import.meta.url);
  // The package's exports do not include package.json: find it beside the resolved entry point.
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

/** The template as a Blob for `new PGlite({ loadDataDir })`, or why it cannot be used. */
export function loadTemplate(): { blob: Blob } | { unusable: string } {
  let info: TemplateInfo;
  try {
    info = JSON.parse(readFileSync(TEMPLATE_INFO_PATH, 'utf8')) as TemplateInfo;
  } catch {
    return { unusable: `no template at ${TEMPLATE_INFO_PATH}` };
  }
  const installed = pgliteVersion();
  if (info.pglite !== installed) {
    return { unusable: `the template was made by PGlite ${info.pglite}, this is ${installed}` };
  }
  try {
    return { blob: new Blob([readFileSync(TEMPLATE_PATH)]) };
  } catch (err) {
    return { unusable: `cannot read ${TEMPLATE_PATH}: ${(err as Error).message}` };
  }
}

/** Runs initdb in memory and writes its data directory as the template, with the version that made it. */
export async function makeTemplate(): Promise<TemplateInfo> {
  const pg = new PGlite();
  await pg.waitReady;
  try {
    const { rows } = await pg.query<{ v: string }>("select current_setting('server_version_num') v");
    const info: TemplateInfo = {
      pglite: pgliteVersion(),
      postgres: String(Math.floor(Number(rows[0]!.v) / 10000)),
    };
    const tarball = await pg.dumpDataDir('gzip');
    await mkdir(ASSETS, { recursive: true });
    await writeFile(TEMPLATE_PATH, Buffer.from(await tarball.arrayBuffer()));
    await writeFile(TEMPLATE_INFO_PATH, `${JSON.stringify(info, null, 2)}\n`);
    return info;
  } finally {
    await pg.close();
  }
}
