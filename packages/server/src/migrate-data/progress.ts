/**
 * Progress lines on stderr (stdout stays for the summary): one per batch at most every `everyMs`, and one when
 * a table or measurement is complete — `robots: 1,200 / 5,000 rows (24 %), 3,100 rows/s`.
 */
export interface Progress {
  /** `name` starts (at `done` units, when resumed): the rate counts from here. */
  start(name: string, done: number): void;
  /** `done` of `total` units of `what` (rows, points) copied for `name`. */
  update(name: string, done: number, total: number, unit: string): void;
  finish(name: string, done: number, total: number, unit: string): void;
  line(text: string): void;
}

export function stderrProgress(
  write: (text: string) => void = (t) => process.stderr.write(t),
  now: () => number = Date.now,
  everyMs = 1000,
): Progress {
  const started = new Map<string, { at: number; from: number }>();
  let lastAt = 0;
  const format = (name: string, done: number, total: number, unit: string, final: boolean) => {
    const s = started.get(name);
    const pct = total > 0 ? ` (${Math.floor((Math.min(done, total) / total) * 100)} %)` : '';
    let rate = '';
    if (s && done > s.from) {
      const seconds = Math.max(0.001, (now() - s.at) / 1000);
      rate = `, ${Math.round((done - s.from) / seconds).toLocaleString('en')} ${unit}/s`;
    }
    return `${name}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} ${unit}${pct}${rate}${final ? ', done' : ''}\n`;
  };
  return {
    start(name, done) {
      started.set(name, { at: now(), from: done });
    },
    update(name, done, total, unit) {
      if (!started.has(name)) started.set(name, { at: now(), from: done });
      if (now() - lastAt < everyMs) return;
      lastAt = now();
      write(format(name, done, total, unit, false));
    },
    finish(name, done, total, unit) {
      write(format(name, done, total, unit, true));
      started.delete(name);
    },
    line(text) {
      write(`${text}\n`);
    },
  };
}

/** Progress that says nothing (tests that do not look at it). */
export const silentProgress: Progress = { start() {}, update() {}, finish() {}, line() {} };
