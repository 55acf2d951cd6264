import { useSyncExternalStore } from 'react';

/** The colour scheme: the system's, or one the user chose (remembered on this device). */
export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'tonypi.theme';
const listeners = new Set<() => void>();
const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export function isDark(choice = themeChoice()): boolean {
  return choice === 'dark' || (choice === 'system' && (media?.matches ?? false));
}

/** Puts the scheme on <html>; called at start, on a choice and when the system's scheme changes. */
export function applyTheme(): void {
  const dark = isDark();
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
  for (const l of listeners) l();
}

export function setThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // Private mode without storage: the choice holds for this page only.
  }
  applyTheme();
}

media?.addEventListener('change', () => applyTheme());

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The current choice and whether the page is dark (charts pick their colours from it). */
export function useTheme(): { choice: ThemeChoice; dark: boolean } {
  const choice = useSyncExternalStore(subscribe, themeChoice);
  const dark = useSyncExternalStore(subscribe, () => isDark());
  return { choice, dark };
}
