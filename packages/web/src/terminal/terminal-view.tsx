import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { getNonce } from 'get-nonce';
import { RefreshCw } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api/client';
import type { SshHostKey, TerminalServerFrame } from '../api/types';
import { Button, cx } from '../components/ui';

/** The server's input frame limit (TERMINAL_INPUT_MAX): a larger paste goes in several frames. */
const INPUT_CHUNK = 16_384;

export type TerminalConnection =
  | { state: 'connecting'; host?: string }
  | { state: 'connected'; host: string; hostKey?: SshHostKey; firstUse?: boolean }
  | { state: 'closed'; message: string; tone: 'error' | 'info'; code?: string };

/**
 * xterm's DOM renderer adds its own `<style>` elements (theme and cell sizes). The app's policy allows only
 * style elements that carry the page's nonce (see the server's web-security.ts), so those get it too.
 */
let nonceInstalled = false;
function installStyleNonce(): void {
  const nonce = getNonce();
  if (nonceInstalled || !nonce) return;
  nonceInstalled = true;
  const create = document.createElement.bind(document) as (
    tag: string,
    options?: ElementCreationOptions,
  ) => HTMLElement;
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const el = create(tag, options);
    if (tag.toLowerCase() === 'style') el.setAttribute('nonce', nonce);
    return el;
  }) as typeof document.createElement;
}

const THEME = {
  background: '#0b1220',
  foreground: '#e2e8f0',
  cursor: '#5eead4',
  selectionBackground: '#334155',
};

/** Why a socket that never opened was refused: the browser does not say, so the settings are asked. */
async function refusalReason(robotId: string): Promise<{ message: string; code?: string }> {
  try {
    await api(`/robots/${encodeURIComponent(robotId)}/ssh`);
    return {
      message:
        'The server refused the terminal: you may have the most terminals open that one user may (close one), or your session ended.',
    };
  } catch (err) {
    if (err instanceof ApiError) return { message: err.message, code: err.code };
    return { message: 'The server cannot be reached.' };
  }
}

function describe(reason: string | undefined, message: string | undefined): string {
  if (message) return message;
  switch (reason) {
    case 'exited':
      return 'The shell exited.';
    case 'idle_timeout':
      return 'Closed for inactivity.';
    case 'server_shutdown':
      return 'The server is shutting down.';
    default:
      return 'The terminal closed.';
  }
}

/**
 * A terminal on the robot: xterm.js over `WS /api/v1/robots/{id}/terminal`, sized to its box (and resized
 * with it), 256 colours, UTF-8, copy with Ctrl+Shift+C (or the selection menu), paste with Ctrl+Shift+V.
 * One socket per view: several views open several sessions. A drop says so and offers to reconnect.
 */
export default function TerminalView({
  robotId,
  className,
  onConnection,
}: {
  robotId: string;
  className?: string;
  onConnection?: (c: TerminalConnection) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [conn, setConn] = useState<TerminalConnection>({ state: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  const report = useRef(onConnection);
  report.current = onConnection;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new attempt (Reconnect) opens a new session
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const update = (c: TerminalConnection) => {
      setConn(c);
      report.current?.(c);
    };
    update({ state: 'connecting' });
    installStyleNonce();
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: THEME,
      allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    try {
      fit.fit();
    } catch {
      // not laid out yet: the observer fits it
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(
      `${scheme}://${location.host}/api/v1/robots/${encodeURIComponent(robotId)}/terminal?cols=${term.cols}&rows=${term.rows}`,
    );
    let opened = false;
    let ended = false;
    const send = (frame: unknown) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
    };
    const end = (c: Extract<TerminalConnection, { state: 'closed' }>) => {
      if (ended) return;
      ended = true;
      update(c);
      term.write(`\r\n\x1b[${c.tone === 'error' ? '31' : '90'}m${c.message}\x1b[0m\r\n`);
    };
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (e) => {
      let frame: TerminalServerFrame;
      try {
        frame = JSON.parse(String(e.data)) as TerminalServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'output') term.write(frame.data);
      else if (frame.type === 'status') {
        if (frame.state === 'connecting')
          update({ state: 'connecting', host: frame.host && `${frame.host}:${frame.port}` });
        else if (frame.state === 'connected') {
          update({
            state: 'connected',
            host: `${frame.host}:${frame.port}`,
            hostKey: frame.host_key,
            firstUse: frame.first_use,
          });
          term.focus();
        } else end({ state: 'closed', tone: 'info', message: describe(frame.reason, frame.message) });
      } else if (frame.type === 'error') {
        if (frame.code === 'bad_frame') return; // ours, not the user's: the terminal goes on
        end({ state: 'closed', tone: 'error', message: frame.message, code: frame.code });
      }
    };
    ws.onclose = (e) => {
      if (ended) return;
      if (!opened) {
        void refusalReason(robotId).then((r) => end({ state: 'closed', tone: 'error', ...r }));
        return;
      }
      end({
        state: 'closed',
        tone: 'error',
        message:
          e.code === 4401
            ? 'Your session ended: sign in again.'
            : 'The connection to the server dropped. Reconnect to open a new session.',
      });
    };
    const input = term.onData((data) => {
      for (let i = 0; i < data.length; i += INPUT_CHUNK)
        send({ type: 'input', data: data.slice(i, i + INPUT_CHUNK) });
    });
    const resize = term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
    term.attachCustomKeyEventHandler((ev) => {
      // Ctrl+C is the shell's interrupt; with Shift it copies, as desktop terminals do.
      if (ev.type === 'keydown' && ev.ctrlKey && ev.shiftKey && ev.code === 'KeyC') {
        const selected = term.getSelection();
        if (selected) void navigator.clipboard?.writeText(selected);
        return false;
      }
      return true;
    });
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // hidden
      }
    });
    observer.observe(el);
    return () => {
      ended = true;
      observer.disconnect();
      input.dispose();
      resize.dispose();
      ws.onclose = null;
      ws.close();
      term.dispose();
    };
  }, [robotId, attempt]);

  return (
    <div className={cx('flex min-h-0 flex-col', className)}>
      <div
        className="flex flex-wrap items-center gap-2 rounded-t-md border border-b-0 border-slate-700 bg-slate-800 px-3 py-1.5 text-sm text-slate-100"
        data-testid="terminal-status"
        data-state={conn.state}
        role="status"
      >
        <span
          aria-hidden
          className={cx(
            'size-2 rounded-full',
            conn.state === 'connected'
              ? 'bg-emerald-400'
              : conn.state === 'connecting'
                ? 'bg-amber-400'
                : 'bg-slate-400',
          )}
        />
        <span className="min-w-0 flex-1 break-words">
          {conn.state === 'connecting' && `Connecting${conn.host ? ` to ${conn.host}` : ''}…`}
          {conn.state === 'connected' && (
            <>
              Connected to {conn.host}
              {conn.hostKey && (
                <span className="text-slate-300">
                  {' '}
                  · host key <code className="break-all">{conn.hostKey.fingerprint}</code>
                  {conn.firstUse ? ' (first connection: now pinned)' : ''}
                </span>
              )}
            </>
          )}
          {conn.state === 'closed' && (
            <span
              className={conn.tone === 'error' ? 'text-red-300' : undefined}
              data-testid="terminal-message"
            >
              {conn.message}
            </span>
          )}
        </span>
        {conn.state === 'closed' && (
          <Button size="sm" onClick={() => setAttempt((n) => n + 1)}>
            <RefreshCw aria-hidden className="size-4" /> Reconnect
          </Button>
        )}
      </div>
      <div
        ref={box}
        data-testid="terminal"
        className="min-h-0 flex-1 overflow-hidden rounded-b-md border border-slate-700 bg-[#0b1220] p-1"
      />
    </div>
  );
}
