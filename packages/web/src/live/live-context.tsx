import { createContext, type ReactNode, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import type { LiveChannel, LiveServerEvents } from '../api/types';
import type { ConnectionInfo, LiveSource, TelemetryNeed } from './live-source';
import type { LiveStore } from './live-store';

const LiveContext = createContext<LiveSource | undefined>(undefined);

export function LiveProvider({ source, children }: { source: LiveSource; children: ReactNode }) {
  return <LiveContext.Provider value={source}>{children}</LiveContext.Provider>;
}

export function useLiveSource(): LiveSource {
  const source = useContext(LiveContext);
  if (!source) throw new Error('useLiveSource outside LiveProvider');
  return source;
}

/** The stream's state, for the header's indicator and pages that say how fresh their values are. */
export function useConnection(): ConnectionInfo {
  const source = useLiveSource();
  return useSyncExternalStore(
    (l) => source.onConnection(l),
    () => source.connection(),
  );
}

/** Subscribes to channels while the component is mounted. */
export function useLiveChannels(...channels: LiveChannel[]): void {
  const source = useLiveSource();
  const key = channels.join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the channel list.
  useEffect(() => source.need(channels), [source, key]);
}

/**
 * Subscribes to channels while the component is mounted, saying which telemetry it shows (some
 * measurements, at most `hz` per series): the stream then sends the tab no more than its pages show.
 */
export function useLiveTelemetry(telemetry: TelemetryNeed, ...channels: LiveChannel[]): void {
  const source = useLiveSource();
  const key = JSON.stringify([channels, telemetry]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the channels and the need.
  useEffect(() => source.need(['telemetry', ...channels], telemetry), [source, key]);
}

/**
 * A value derived from the live store; the component re-renders only when it changes (compared with
 * Object.is: select numbers and strings, or objects the store keeps).
 */
export function useLive<T>(selector: (store: LiveStore) => T): T {
  const source = useLiveSource();
  const store = source.store;
  return useSyncExternalStore(store.subscribe, () => selector(store));
}

/** Every frame of a type, in batches per animation frame (alerts, command results, chart appends). */
export function useLiveFrames<K extends keyof LiveServerEvents>(
  type: K,
  listener: (frames: readonly ({ type: K } & LiveServerEvents[K])[]) => void,
): void {
  const source = useLiveSource();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => source.listen(type, (frames) => ref.current(frames)), [source, type]);
}
