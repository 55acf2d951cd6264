import { useSyncExternalStore } from 'react';

/**
 * One shared 1 s clock for "seen 5 s ago" texts: a page of a hundred cards keeps one timer, and each card
 * re-renders once a second at most, not per live frame.
 */
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;
let second = Math.floor(Date.now() / 1000);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  timer ??= setInterval(() => {
    second = Math.floor(Date.now() / 1000);
    for (const l of listeners) l();
  }, 1000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** The current epoch second, changing once a second while the component is mounted. */
export function useSecond(): number {
  return useSyncExternalStore(subscribe, () => second);
}
