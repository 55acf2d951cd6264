import type { Robot } from '../../api/types';
import { LogView } from '../../logs/log-view';

/** This robot's log entries, with the log page's filters, follow and export. */
export function LogsTab({ robot }: { robot: Robot }) {
  return <LogView robotId={robot.robot_id} />;
}
