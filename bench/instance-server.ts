/**
 * One server instance of `bench:instances`, in a process of its own (its own event loop, as in production):
 * started with the environment in argv[2], it reports `ready` with its URL over IPC, answers `stats` with its
 * ingest figures, `flush` by writing what it holds, and `stop` by stopping.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD } from './bench-fixtures';

const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-bench-instance-'));
const config = loadConfig({ ...loopbackEnv(dataDir, BENCH_PASSWORD), LOG_LEVEL: 'warn', ...env });
const server = await startServer(config, { logger: createLogger(config.logLevel) });
process.send?.({ type: 'ready', url: server.url });
process.on('message', async (m: { type: string }) => {
  if (m.type === 'stats') process.send?.({ type: 'stats', stats: server.pipeline.stats() });
  else if (m.type === 'flush') {
    await server.pipeline.flush();
    process.send?.({ type: 'flushed' });
  } else if (m.type === 'stop') {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
});
