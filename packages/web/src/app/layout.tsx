import { type Permission, roleMay } from '@tonypi/contracts/roles';
import {
  Bell,
  Bot,
  ChevronDown,
  FileText,
  KeyRound,
  LayoutGrid,
  ListChecks,
  LogOut,
  Menu,
  Monitor,
  Moon,
  Package,
  ScrollText,
  Server,
  ShieldCheck,
  Sun,
  UserRound,
  Users,
  X,
} from 'lucide-react';
import { DropdownMenu } from 'radix-ui';
import { type ComponentType, useState } from 'react';
import { Link, NavLink, Outlet, useNavigate } from 'react-router';
import { useUnresolvedAlerts } from '../alerts/open-alerts';
import { useAuth, useMe } from '../auth/auth';
import { cx } from '../components/ui';
import { ConnectionIndicator } from './connection-indicator';
import { setThemeChoice, type ThemeChoice, useTheme } from './theme';

interface NavItem {
  to: string;
  label: string;
  icon: ComponentType<{ className?: string; 'aria-hidden'?: boolean }>;
  permission: Permission;
  end?: boolean;
}

/** The app's pages, as far as the role may see them. */
export const NAV: readonly NavItem[] = [
  { to: '/', label: 'Fleet', icon: LayoutGrid, permission: 'robots:read', end: true },
  { to: '/robots', label: 'Robots', icon: Bot, permission: 'robots:read', end: true },
  { to: '/alerts', label: 'Alerts', icon: Bell, permission: 'robots:read' },
  { to: '/jobs', label: 'Jobs', icon: ListChecks, permission: 'robots:read' },
  { to: '/items', label: 'Items', icon: Package, permission: 'robots:read' },
  { to: '/reports', label: 'Reports', icon: FileText, permission: 'robots:read' },
  { to: '/logs', label: 'Logs', icon: ScrollText, permission: 'logs:read' },
  { to: '/users', label: 'Users', icon: Users, permission: 'users:manage' },
  { to: '/api-keys', label: 'API keys', icon: KeyRound, permission: 'api_keys:manage' },
  { to: '/audit', label: 'Audit', icon: ShieldCheck, permission: 'audit:read' },
  { to: '/system', label: 'System', icon: Server, permission: 'system:read' },
];

/** The main links; in the header bar (`bar`) they drop their icons until the screen is wide enough for both. */
function NavLinks({ onNavigate, bar = false }: { onNavigate?: () => void; bar?: boolean }) {
  const me = useMe();
  const items = NAV.filter((item) => roleMay(me.role, item.permission));
  return (
    <>
      {items.map(({ to, label, icon: Icon, end }) => (
        <NavLink
          key={to}
          to={to}
          end={end}
          onClick={onNavigate}
          className={({ isActive }) =>
            cx(
              'flex items-center gap-2 rounded-md py-2 text-sm font-medium whitespace-nowrap',
              bar ? 'px-2 2xl:px-3' : 'px-3',
              isActive
                ? 'bg-teal-50 text-teal-900 dark:bg-teal-900/40 dark:text-teal-100'
                : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800',
            )
          }
        >
          <Icon aria-hidden className={cx('size-4', bar && 'hidden 2xl:inline')} />
          {label}
        </NavLink>
      ))}
    </>
  );
}

const THEMES: { value: ThemeChoice; label: string; icon: typeof Sun }[] = [
  { value: 'system', label: 'System', icon: Monitor },
  { value: 'light', label: 'Light', icon: Sun },
  { value: 'dark', label: 'Dark', icon: Moon },
];

function UserMenu() {
  const me = useMe();
  const { signOut } = useAuth();
  const navigate = useNavigate();
  const { choice } = useTheme();
  const item =
    'flex cursor-pointer items-center gap-2 rounded px-2 py-1.5 text-sm outline-none data-[highlighted]:bg-slate-100 dark:data-[highlighted]:bg-slate-700';
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="flex items-center gap-1.5 rounded-md px-2 py-1.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
        <UserRound aria-hidden className="size-4" />
        <span className="hidden max-w-32 truncate sm:inline">{me.user.username}</span>
        <span className="sr-only">Account menu for {me.user.username}</span>
        <ChevronDown aria-hidden className="size-3.5" />
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content
          align="end"
          sideOffset={6}
          className="z-50 min-w-52 rounded-md border border-slate-200 bg-white p-1 shadow-lg dark:border-slate-700 dark:bg-slate-800"
        >
          <DropdownMenu.Label className="px-2 py-1.5 text-xs text-slate-500 dark:text-slate-400">
            {me.user.username} · {me.role}
          </DropdownMenu.Label>
          <DropdownMenu.Item className={item} onSelect={() => navigate('/account/password')}>
            Change password
          </DropdownMenu.Item>
          <DropdownMenu.Separator className="my-1 h-px bg-slate-200 dark:bg-slate-700" />
          <DropdownMenu.Label className="px-2 py-1 text-xs text-slate-500 dark:text-slate-400">
            Theme
          </DropdownMenu.Label>
          <DropdownMenu.RadioGroup value={choice} onValueChange={(v) => setThemeChoice(v as ThemeChoice)}>
            {THEMES.map(({ value, label, icon: Icon }) => (
              <DropdownMenu.RadioItem key={value} value={value} className={item}>
                <Icon aria-hidden className="size-4" />
                {label}
                <DropdownMenu.ItemIndicator className="ml-auto text-teal-600">✓</DropdownMenu.ItemIndicator>
              </DropdownMenu.RadioItem>
            ))}
          </DropdownMenu.RadioGroup>
          <DropdownMenu.Separator className="my-1 h-px bg-slate-200 dark:bg-slate-700" />
          <DropdownMenu.Item
            className={item}
            onSelect={() => {
              void signOut().then(() => navigate('/sign-in', { replace: true }));
            }}
          >
            <LogOut aria-hidden className="size-4" /> Sign out
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

/** The open alerts, live: a link to them (red while one is critical). */
function AlertCount() {
  const alerts = useUnresolvedAlerts();
  const items = alerts.data?.items ?? [];
  const open = items.filter((a) => a.state === 'open');
  const critical = open.some((a) => a.severity === 'critical');
  return (
    <Link
      to="/alerts?state=open"
      data-testid="open-alerts"
      title={`${open.length} open alerts (${items.length - open.length} acknowledged)`}
      className={cx(
        'flex items-center gap-1 rounded-md px-2 py-1.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800',
        critical ? 'text-red-700 dark:text-red-400' : 'text-slate-700 dark:text-slate-300',
      )}
    >
      <Bell aria-hidden className="size-4" />
      <span>{open.length}</span>
      <span className="sr-only">open alerts</span>
    </Link>
  );
}

export function Layout() {
  const me = useMe();
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:p-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur dark:border-slate-800 dark:bg-slate-900/95">
        <div className="mx-auto flex h-14 max-w-screen-2xl items-center gap-3 px-3 sm:px-5">
          <button
            type="button"
            className="rounded p-1.5 xl:hidden"
            aria-label={menuOpen ? 'Close menu' : 'Open menu'}
            aria-expanded={menuOpen}
            onClick={() => setMenuOpen((o) => !o)}
          >
            {menuOpen ? <X aria-hidden className="size-5" /> : <Menu aria-hidden className="size-5" />}
          </button>
          <Link to="/" className="flex items-center gap-2 font-semibold">
            <Bot aria-hidden className="size-6 text-teal-700 dark:text-teal-400" />
            <span className="hidden 2xl:inline">TonyPi Fleet Monitor</span>
            <span className="2xl:hidden">TonyPi</span>
          </Link>
          <nav aria-label="Main" className="ml-2 hidden items-center gap-0.5 xl:flex">
            <NavLinks bar />
          </nav>
          <div className="ml-auto flex items-center gap-1 sm:gap-3">
            <ConnectionIndicator />
            {/* A temporary password allows nothing but setting a new one: no alerts to ask for yet. */}
            {!me.must_change_password && <AlertCount />}
            <UserMenu />
          </div>
        </div>
        {menuOpen && (
          <nav
            aria-label="Main"
            className="flex flex-col gap-1 border-t border-slate-200 p-2 xl:hidden dark:border-slate-800"
          >
            <NavLinks onNavigate={() => setMenuOpen(false)} />
          </nav>
        )}
      </header>
      <main id="main" className="mx-auto max-w-screen-2xl p-3 sm:p-5">
        <Outlet />
      </main>
    </div>
  );
}
