import { NavLink } from 'react-router';
import { useCan } from '../../auth/auth';
import { cx } from '../../components/ui';

/** The alert pages: the list, the rules, and (for those who manage them) the notification channels. */
export function AlertsNav() {
  const canChannels = useCan('notifications:manage');
  const links = [
    { to: '/alerts', label: 'Alerts', end: true },
    { to: '/alerts/rules', label: 'Rules', end: false },
    ...(canChannels ? [{ to: '/alerts/channels', label: 'Notification channels', end: false }] : []),
  ];
  return (
    <nav
      aria-label="Alert pages"
      className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800"
    >
      {links.map((l) => (
        <NavLink
          key={l.to}
          to={l.to}
          end={l.end}
          className={({ isActive }) =>
            cx(
              'border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap',
              isActive
                ? 'border-teal-600 text-teal-800 dark:text-teal-300'
                : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100',
            )
          }
        >
          {l.label}
        </NavLink>
      ))}
    </nav>
  );
}
