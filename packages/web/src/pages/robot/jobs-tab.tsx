import type { Robot } from '../../api/types';
import { JobsView } from '../../jobs/jobs-view';

/** This robot's jobs: the running one live, its figures and history. */
export function JobsTab({ robot }: { robot: Robot }) {
  return <JobsView robotId={robot.robot_id} />;
}
