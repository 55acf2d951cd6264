import { useSyncExternalStore } from 'react';

/** How this device tells about a critical alert besides the toast: remembered per device (localStorage). */
export interface AlertDeviceSettings {
  sound: boolean;
  notify: boolean;
}

const KEY = 'tonypi.alert-settings';
const listeners = new Set<() => void>();
let cached: AlertDeviceSettings | undefined;

function read(): AlertDeviceSettings {
  if (cached) return cached;
  let parsed: Partial<AlertDeviceSettings> = {};
  try {
    parsed = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<AlertDeviceSettings>;
  } catch {
    parsed = {};
  }
  cached = { sound: parsed.sound === true, notify: parsed.notify === true };
  return cached;
}

export function alertSettings(): AlertDeviceSettings {
  return read();
}

export function setAlertSettings(change: Partial<AlertDeviceSettings>): void {
  cached = { ...read(), ...change };
  try {
    localStorage.setItem(KEY, JSON.stringify(cached));
  } catch {
    // Private mode: kept for this page load only.
  }
  for (const l of listeners) l();
}

export function useAlertSettings(): AlertDeviceSettings {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    read,
    read,
  );
}

/** The browser's notification permission, or `unsupported`. */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** A short two-tone beep (Web Audio: no sound file to download). */
export function playAlertSound(): void {
  const Ctx = globalThis.AudioContext;
  if (!Ctx) return;
  try {
    const ctx = new Ctx();
    const gain = ctx.createGain();
    gain.gain.value = 0.15;
    gain.connect(ctx.destination);
    [880, 660].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(ctx.currentTime + i * 0.2);
      osc.stop(ctx.currentTime + i * 0.2 + 0.18);
    });
    setTimeout(() => void ctx.close(), 1000);
  } catch {
    // A browser that blocks audio before a user gesture: the toast still shows.
  }
}

export function showBrowserNotification(title: string, body: string, tag: string): void {
  if (notificationPermission() !== 'granted') return;
  try {
    new Notification(title, { body, tag });
  } catch {
    // Some mobile browsers only notify from a service worker: the toast still shows.
  }
}
