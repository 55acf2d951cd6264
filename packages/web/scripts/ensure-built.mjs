#!/usr/bin/env node
// Builds the web app when dist/ is missing or older than its sources: `npm start` and the browser tests
// run it, so a fresh clone (or a pull that changed the app) never serves a stale or missing build.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const contracts = join(root, '..', 'contracts', 'src');

function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = newest(join(root, 'dist', 'index.html'));
const sources = Math.max(
  ...['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((p) => newest(join(root, p))),
  newest(contracts),
);
if (built > 0 && built >= sources) process.exit(0);
console.log(built === 0 ? 'web app: building (first start)…' : 'web app: sources changed, building…');
// A production build whatever the caller's NODE_ENV (the test runner sets `test`, which would bundle
// React's development build).
process.env.NODE_ENV = 'production';
const { build } = await import('vite');
await build({ root, logLevel: 'warn' });
