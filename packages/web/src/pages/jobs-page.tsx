import { PageHeader } from '../components/ui';
import { JobsView } from '../jobs/jobs-view';

/** The fleet's jobs: running ones live, figures, history and each job's items. */
export default function JobsPage() {
  return (
    <div>
      <PageHeader title="Jobs" />
      <JobsView />
    </div>
  );
}
