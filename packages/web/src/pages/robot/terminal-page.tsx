import { ArrowLeft } from 'lucide-react';
import { lazy, Suspense, useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { useCan } from '../../auth/auth';
import { EmptyState, Loading } from '../../components/ui';

const TerminalView = lazy(() => import('../../terminal/terminal-view'));

/** `/robots/:robotId/terminal`: one terminal filling the window (opened from the robot page's Terminal tab). */
export default function TerminalPage() {
  const { robotId = '' } = useParams();
  const canOpen = useCan('robots:terminal');
  useEffect(() => {
    document.title = `${robotId} · terminal`;
  }, [robotId]);
  if (!canOpen)
    return (
      <EmptyState title="Your role cannot open terminals">
        <Link to={`/robots/${encodeURIComponent(robotId)}`} className="underline">
          Back to {robotId}
        </Link>
      </EmptyState>
    );
  return (
    <div className="flex h-dvh flex-col gap-2 bg-slate-950 p-2">
      <div className="flex items-center gap-3 text-sm text-slate-200">
        <Link
          to={`/robots/${encodeURIComponent(robotId)}?tab=terminal`}
          className="inline-flex items-center gap-1 hover:underline"
        >
          <ArrowLeft aria-hidden className="size-4" /> {robotId}
        </Link>
        <h1 className="font-medium">Terminal</h1>
      </div>
      <Suspense fallback={<Loading label="Loading the terminal…" />}>
        <TerminalView robotId={robotId} className="min-h-0 flex-1" />
      </Suspense>
    </div>
  );
}
