import { AlertListView } from '../../alerts/alert-list';
import { SilencesPanel } from '../../alerts/silences';
import type { Robot } from '../../api/types';

/** The robot's alerts, with the same filters and actions as the Alerts page. */
export function AlertsTab({ robot }: { robot: Robot }) {
  return (
    <div>
      <AlertListView robotId={robot.robot_id} />
      <SilencesPanel robotId={robot.robot_id} />
    </div>
  );
}
