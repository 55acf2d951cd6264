import { createBrowserRouter, Link } from 'react-router';
import { EmptyState, Loading } from '../components/ui';
import { FleetOverviewPage } from '../pages/fleet-overview';
import { SignInPage } from '../pages/sign-in';
import { Layout } from './layout';
import { SignedIn } from './signed-in';

/** A page loaded when first opened: only sign-in and the fleet overview are in the first download. */
function lazyPage(load: () => Promise<{ default: React.ComponentType }>) {
  return { lazy: async () => ({ Component: (await load()).default }) };
}

function NotFound() {
  return (
    <EmptyState title="There is no such page">
      <Link to="/" className="underline">
        Go to the fleet overview
      </Link>
    </EmptyState>
  );
}

/**
 * The app's pages. Every path here is also in the server's list of app paths (web-app.routes.ts), so a
 * refresh or a shared link opens the same page.
 */
export const router = createBrowserRouter([
  { path: '/sign-in', Component: SignInPage },
  {
    Component: SignedIn,
    // Shown while the first page's code loads (lazy pages opened by a link or a refresh).
    HydrateFallback: () => <Loading label="Loading…" />,
    children: [
      // A terminal filling the window: no navigation around it.
      { path: 'robots/:robotId/terminal', ...lazyPage(() => import('../pages/robot/terminal-page')) },
      {
        Component: Layout,
        children: [
          { index: true, Component: FleetOverviewPage },
          { path: 'robots', ...lazyPage(() => import('../pages/robots/robots-page')) },
          { path: 'robots/:robotId', ...lazyPage(() => import('../pages/robot/robot-page')) },
          { path: 'alerts', ...lazyPage(() => import('../pages/alerts/alerts-page')) },
          { path: 'alerts/rules', ...lazyPage(() => import('../pages/alerts/rules-page')) },
          { path: 'alerts/channels', ...lazyPage(() => import('../pages/alerts/channels-page')) },
          { path: 'system', ...lazyPage(() => import('../pages/system-page')) },
          { path: 'users', ...lazyPage(() => import('../pages/users/users-page')) },
          { path: 'api-keys', ...lazyPage(() => import('../pages/api-keys-page')) },
          { path: 'audit', ...lazyPage(() => import('../pages/audit-page')) },
          { path: 'logs', ...lazyPage(() => import('../pages/logs-page')) },
          { path: 'jobs', ...lazyPage(() => import('../pages/jobs-page')) },
          { path: 'items', ...lazyPage(() => import('../pages/items-page')) },
          { path: 'reports', ...lazyPage(() => import('../pages/reports/reports-page')) },
          { path: 'reports/:reportId', ...lazyPage(() => import('../pages/reports/report-page')) },
          { path: 'account/password', ...lazyPage(() => import('../pages/change-password')) },
          { path: '*', Component: NotFound },
        ],
      },
    ],
  },
]);
