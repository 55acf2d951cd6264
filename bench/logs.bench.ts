/**
 * `npm run bench:logs -- [--rows 1000000] [--format csv|json]`
 *
 * Log export at scale (issue #7 §5): fills `system_logs` with `--rows` entries (in the database, not through
 * the API), then downloads `GET /api/v1/logs/export` of all of them in a child process that reads and
 * discards the stream. Prints rows/s and the server's RSS before, at its peak during and after the export
 * (the server runs in this process; the reader in the child). Prints figures only: it never passes or fails.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../packages/server/src/config';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin, startPreparedServer } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    format: { type: 'string', default: 'csv' },
    prepare: { type: 'string' },
    read: { type: 'string' },
  },
});

/** The child: downloads the export, counts lines and bytes, reports them and the time. */
async function read(arg: string): Promise<void> {
  const { url, token } = JSON.parse(arg) as { url: string; token: string };
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const firstByte = performance.now() - started;
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  process.send?.({
    status: res.status,
    bytes,
    lines,
    first_byte_ms: firstByte,
    ms: performance.now() - started,
  });
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

async function main(): Promise<void> {
  if (values.read) return read(values.read);
  const rows = Number(values.rows);
  const format = values.format === 'json' ? 'json' : 'csv';
  const started = await startPreparedServer(import.meta.filename, values.prepare, (dataDir) =>
    loadConfig({ ...loopbackEnv(dataDir, BENCH_PASSWORD), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }),
  );
  if (!started) return;
  const { server, dataDir } = started;
  try {
    const fillStart = performance.now();
    const now = Date.now();
    for (let done = 0; done < rows; done += 100_000) {
      const n = Math.min(100_000, rows - done);
      await server.db.query(
        `INSERT INTO system_logs (timestamp, level, level_rank, category, robot_id, source, message, details)
         SELECT to_timestamp(($1::float8 - g) / 1000), (ARRAY['INFO','WARNING','ERROR'])[g % 3 + 1], 20 + (g % 3) * 10,
                (ARRAY['robot','mqtt','command'])[g % 3 + 1], 'tonypi_' || lpad((g % 100)::text, 2, '0'), 'bench',
                'robot log line number ' || g || ' with, some "quoted" text', jsonb_build_object('n', g)
         FROM generate_series($2::int, $3::int) g`,
        [now, done + 1, done + n],
      );
    }
    // The logs job's ANALYZE (a minute after the start, then hourly) would have run on a table that grew
    // over days; here it is run before the export, not during it by chance (PGlite has no autovacuum).
    await server.db.query('ANALYZE system_logs');
    console.log(
      `bench:logs — ${rows} rows in system_logs (filled and analysed in ${Math.round(performance.now() - fillStart)} ms), export as ${format}`,
    );
    const token = await benchLogin(server.url);
    global.gc?.();
    await new Promise((r) => setTimeout(r, 500));
    const before = process.memoryUsage();
    const rssBefore = before.rss;
    let rssPeak = rssBefore;
    // Where a peak is: the JS heap, or outside it (PGlite's WebAssembly memory is an ArrayBuffer).
    let heapPeak = before.heapUsed;
    let buffersPeak = before.arrayBuffers;
    let heapTotalPeak = before.heapTotal;
    let externalPeak = before.external;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      rssPeak = Math.max(rssPeak, m.rss);
      heapPeak = Math.max(heapPeak, m.heapUsed);
      buffersPeak = Math.max(buffersPeak, m.arrayBuffers);
      heapTotalPeak = Math.max(heapTotalPeak, m.heapTotal);
      externalPeak = Math.max(externalPeak, m.external);
    }, 100);
    const from = new Date(now - rows - 60_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const child = fork(
      import.meta.filename,
      [
        '--read',
        JSON.stringify({
          url: `${server.url}/api/v1/logs/export?format=${format}&from=${from}&to=${to}`,
          token,
        }),
      ],
      { execArgv: ['--import', 'tsx'] },
    );
    const result = await new Promise<{
      status: number;
      bytes: number;
      lines: number;
      first_byte_ms: number;
      ms: number;
    }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => code !== 0 && reject(new Error(`reader exited with ${code}`)));
    });
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = process.memoryUsage().rss;
    const exported = format === 'csv' ? result.lines - 1 : result.lines;
    const figures = {
      status: result.status,
      rows_exported: exported,
      megabytes: mb(result.bytes),
      first_byte_ms: Math.round(result.first_byte_ms),
      export_ms: Math.round(result.ms),
      rows_per_s: Math.round(exported / (result.ms / 1000)),
      server_rss_before_mb: mb(rssBefore),
      server_rss_peak_mb: mb(rssPeak),
      server_rss_after_mb: mb(rssAfter),
      server_heap_before_peak_mb: `${mb(before.heapUsed)} → ${mb(heapPeak)} (of ${mb(before.heapTotal)} → ${mb(heapTotalPeak)})`,
      server_external_before_peak_mb: `${mb(before.external)} → ${mb(externalPeak)} (array buffers ${mb(before.arrayBuffers)} → ${mb(buffersPeak)})`,
    };
    console.table(figures);
    console.log(
      `logs export: ${figures.rows_per_s} rows/s (${exported} rows, ${format}), rss ${figures.server_rss_before_mb} → peak ${figures.server_rss_peak_mb} → ${figures.server_rss_after_mb} MB`,
    );
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
