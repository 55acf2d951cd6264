import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The operator's console. `npm run build -w @tonypi/web` writes `dist/`, which the server serves at `/`
 * (its own port, same origin: the session cookie and the live stream need nothing else). `npm run dev -w
 * @tonypi/web` serves the sources with hot reload and sends `/api` (REST and the live stream) to a server on
 * TONYPI_API (default http://127.0.0.1:8000).
 */
const api = process.env.TONYPI_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The entry (React, the router, the query cache, sign-in and the fleet overview) is ~460 KB minified,
    // ~150 KB gzipped: within the 200 KB budget bench/web.bench.ts measures. Other pages are separate chunks.
    chunkSizeWarningLimit: 500,
  },
  server: {
    proxy: { '/api': { target: api, ws: true } },
  },
});
