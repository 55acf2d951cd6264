/** `npm run db:template`: makes the PGlite data-directory template again, e.g. after a PGlite upgrade. */
import { makeTemplate, TEMPLATE_PATH } from './pglite-template';

const info = await makeTemplate();
console.log(`PGlite ${info.pglite} (PostgreSQL ${info.postgres}): template written to ${TEMPLATE_PATH}`);
