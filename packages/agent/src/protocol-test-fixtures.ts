import { RobotModel } from './robot-model';
import type { ModelEvent } from './robot-readings';

/** A robot that has been working for a while, and one event of every kind it produced. */
export function workedRobot(): { model: RobotModel; events: Map<string, ModelEvent> } {
  const model = new RobotModel({ id: 'tonypi_07', seed: 5, faults: true, initialSoc: 0.8 });
  const events = new Map<string, ModelEvent>();
  model.startJob({ job_id: 'job-42', task_name: 'Pick run', items_total: 2 });
  for (let t = 0; t < 6 * 3600 && events.size < 10; t++) {
    model.step(1);
    for (const e of model.drainEvents()) {
      const key = e.kind === 'job' ? `job:${e.status}` : e.kind === 'log' ? `log:${e.level}` : e.kind;
      if (!events.has(key)) events.set(key, e);
    }
  }
  if (!model.jobSnapshot) model.startJob();
  model.stopJob('test over');
  for (const e of model.drainEvents()) if (e.kind === 'job') events.set(`job:${e.status}`, e);
  return { model, events };
}

export const EVENT_KINDS = [
  'job:started',
  'job:in_progress',
  'job:completed',
  'job:cancelled',
  'scan',
  'vision',
  'log:info',
  'log:warning',
  'log:error',
] as const;
