import { clamp } from './math';
import type { Prng } from './prng';
import type { Activity, SystemReading } from './robot-readings';

/**
 * The Raspberry Pi's load: CPU follows the work (walking control, and much more for the vision
 * pipeline while scanning), the SoC temperature follows the CPU with a slow thermal lag, memory
 * drifts a little, and the SD card fills slowly with logs and frames.
 */
export class SystemLoad {
  readonly reading: SystemReading;
  private cpu = 10;
  private temp = 45;
  private memory: number;

  constructor(rng: Prng) {
    this.memory = rng.range(34, 42);
    this.reading = {
      cpu_percent: this.cpu,
      memory_percent: this.memory,
      disk_percent: rng.range(35, 55),
      cpu_temperature_c: this.temp,
    };
  }

  step(dt: number, activity: Activity, gesturing: boolean, hasJob: boolean, rng: Prng): void {
    const walking = activity === 'walking' || activity === 'turning';
    const scanning = activity === 'scanning';
    const target = 9 + (walking ? 18 : 0) + (scanning ? 45 : 0) + (gesturing ? 6 : 0) + (hasJob ? 3 : 0);
    this.cpu += (target - this.cpu) * (1 - Math.exp(-dt / 2));
    this.temp += (40 + 0.32 * this.cpu - this.temp) * (1 - Math.exp(-dt / 45));
    const memTarget = 38 + (scanning ? 6 : 0) + (hasJob ? 2 : 0);
    this.memory += (memTarget - this.memory) * (1 - Math.exp(-dt / 30)) + rng.normal(0.05) * Math.sqrt(dt);
    const r = this.reading;
    r.cpu_percent = clamp(this.cpu + rng.normal(2), 0, 100);
    r.memory_percent = clamp(this.memory, 5, 95);
    r.disk_percent = Math.min(95, r.disk_percent + 0.0001 * dt);
    r.cpu_temperature_c = this.temp + rng.normal(0.3);
  }

  /** The smoothed CPU load (no noise), for the power model. */
  get cpuLoad(): number {
    return this.cpu;
  }
}
