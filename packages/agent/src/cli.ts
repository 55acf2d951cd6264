#!/usr/bin/env -S npx tsx
import { CliError, parseCli, USAGE } from './cli-args';
import { Fleet } from './fleet';
import type { AgentLogger } from './simulated-robot';

/** `tonypi-agent simulate …`: a fleet of simulated robots until Ctrl-C. */

const STATS_EVERY_MS = 5000;

const consoleLogger: AgentLogger = {
  info: (o, m) => console.log(format(o, m)),
  warn: (o, m) => console.warn(format(o, m)),
};

function format(o: object, m?: string): string {
  const fields = Object.entries(o)
    .filter(([k]) => k !== 'robot_id')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const who = 'robot_id' in o ? `${String(o.robot_id)}: ` : '';
  return `${who}${m ?? ''}${fields ? ` ${fields}` : ''}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { fleet: opts, durationS, stats } = parsed.args;
  console.log(
    `Starting ${opts.robots} simulated robot(s) at ${opts.rateHz} Hz (${opts.protocol}) against ${opts.brokerUrl}`,
  );
  let fleet: Fleet;
  try {
    fleet = await Fleet.start({ ...opts, logger: consoleLogger });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
  if (fleet.camera) console.log(`Cameras: ${fleet.camera.urlFor(fleet.robots[0]!.id)} (one per robot)`);
  const started = performance.now();
  let last = { at: started, published: 0 };
  const statsTimer = stats
    ? setInterval(() => {
        const now = performance.now();
        const s = fleet.stats();
        const rate = ((s.published - last.published) * 1000) / (now - last.at);
        last = { at: now, published: s.published };
        console.log(
          `published ${s.published} (${rate.toFixed(0)} msg/s), telemetry ${s.telemetry}, dropped ${s.dropped}, ` +
            `skipped ${s.skipped}, commands ${s.commands}, reconnects ${s.reconnects}`,
        );
      }, STATS_EVERY_MS)
    : null;

  return new Promise<number>((resolve) => {
    let stoppingSince: number | null = null;
    const stop = (why: string): void => {
      if (stoppingSince !== null) {
        // Wrappers (npx, tsx) relay the terminal's Ctrl-C, so one keypress can arrive twice.
        if (Date.now() - stoppingSince < 1000) return;
        console.error('forced exit');
        process.exit(1);
      }
      stoppingSince = Date.now();
      if (statsTimer) clearInterval(statsTimer);
      console.log(`${why}: stopping the fleet (robots go offline)…`);
      fleet.stop().then(
        () => {
          const s = fleet.stats();
          const secs = (performance.now() - started) / 1000;
          console.log(`stopped: ${s.published} messages in ${secs.toFixed(1)} s`);
          resolve(0);
        },
        (err: Error) => {
          console.error(`error while stopping: ${err.message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    if (durationS !== null) setTimeout(() => stop(`${durationS} s elapsed`), durationS * 1000);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
