import { Link } from 'react-router';
import { EmptyState } from '../../components/ui';

/** A page the role may not open (a shared link, a typed URL): said plainly, never a failing request. */
export function NotAllowed({ what }: { what: string }) {
  return (
    <EmptyState title={`Only an admin may manage ${what}`}>
      Ask an admin if you need this.{' '}
      <Link to="/" className="underline">
        Go to the fleet overview
      </Link>
    </EmptyState>
  );
}
