import { AlertListView } from '../../alerts/alert-list';
import { notificationPermission, setAlertSettings, useAlertSettings } from '../../alerts/alert-settings';
import { SilencesPanel } from '../../alerts/silences';
import { PageHeader } from '../../components/ui';
import { AlertsNav } from './alerts-nav';

/** This device's extra signals for a critical alert (sound, browser notification), remembered here. */
function DeviceSettings() {
  const settings = useAlertSettings();
  const permission = notificationPermission();
  return (
    <fieldset className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
      <legend className="sr-only">On this device, for critical alerts</legend>
      <label className="flex items-center gap-2">
        <input
          type="checkbox"
          checked={settings.sound}
          onChange={(e) => setAlertSettings({ sound: e.target.checked })}
        />
        Sound on critical alerts
      </label>
      <label className="flex items-center gap-2">
        <input
          type="checkbox"
          disabled={permission === 'unsupported' || permission === 'denied'}
          checked={settings.notify && permission === 'granted'}
          onChange={(e) => {
            const on = e.target.checked;
            if (!on) return setAlertSettings({ notify: false });
            void Notification.requestPermission().then((p) => setAlertSettings({ notify: p === 'granted' }));
          }}
        />
        Browser notifications
        {permission === 'denied' && (
          <span className="text-slate-600 dark:text-slate-400">
            (blocked in this browser’s site settings)
          </span>
        )}
        {permission === 'unsupported' && (
          <span className="text-slate-600 dark:text-slate-400">(not offered by this browser)</span>
        )}
      </label>
    </fieldset>
  );
}

export default function AlertsPage() {
  return (
    <div>
      <PageHeader title="Alerts">
        <DeviceSettings />
      </PageHeader>
      <AlertsNav />
      <AlertListView />
      <SilencesPanel />
    </div>
  );
}
