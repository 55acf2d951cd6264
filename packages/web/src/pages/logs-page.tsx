import { PageHeader } from '../components/ui';
import { LogView } from '../logs/log-view';

/** The server's log: robots' log messages and the server's own events, filtered, followed, exported. */
export default function LogsPage() {
  return (
    <div>
      <PageHeader title="Logs" />
      <LogView />
    </div>
  );
}
