import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTemplate, pgliteVersion, TEMPLATE_INFO_PATH } from './pglite-template';

describe('the shipped PGlite data-directory template', () => {
  it('was made by the installed PGlite (after an upgrade: npm run db:template)', () => {
    const info = JSON.parse(readFileSync(TEMPLATE_INFO_PATH, 'utf8'));
    expect(info.pglite).toBe(pgliteVersion());
    const t = loadTemplate();
    expect(t).toHaveProperty('blob');
    expect('blob' in t && t.blob.size).toBeGreaterThan(1_000_000);
  });
});
