import {
  type AlertChange,
  type CommandState,
  type ServerEvents,
  type SystemLogLevel,
  toSystemLogLevel,
} from '@tonypi/contracts';
import type { EventSubscriber } from '../core/event-bus';
import { logEntry } from './log-entry';
import type { LogWriter } from './log-writer';

const STATUS_LEVEL: Readonly<Record<string, SystemLogLevel>> = {
  online: 'INFO',
  offline: 'WARNING',
  emergency_stopped: 'CRITICAL',
};

const SEVERITY_LEVEL: Readonly<Record<string, SystemLogLevel>> = {
  info: 'INFO',
  warning: 'WARNING',
  critical: 'CRITICAL',
};

/** Alert changes worth a line: `updated` (a new value of an open alert, in place) would flood the log. */
const LOGGED_ALERT_CHANGES = new Set<AlertChange>([
  'raised',
  'escalated',
  'acknowledged',
  'resolved',
  'deleted',
]);

const COMMAND_LEVEL: Partial<Record<CommandState, SystemLogLevel>> = {
  failed: 'WARNING',
  timed_out: 'WARNING',
  rejected: 'WARNING',
};

/**
 * What goes into the log, from the event bus: robots' own log messages, their status changes (connects,
 * disconnects, emergency stops), alerts, commands, audited changes (sign-ins among them) and server errors.
 * Each handler builds one entry and queues it: nothing here waits for the database.
 */
export function recordToLog(events: EventSubscriber<ServerEvents>, writer: LogWriter): () => void {
  const offs = [
    events.subscribe('robot.log', (e) =>
      writer.add(() =>
        logEntry({
          ts: e.ts,
          level: toSystemLogLevel(e.level),
          category: 'robot',
          robot_id: e.robot_id,
          source: e.source,
          message: e.message,
        }),
      ),
    ),
    events.subscribe('robot.status', (s) =>
      writer.add(
        logEntry({
          ts: s.ts,
          level: STATUS_LEVEL[s.status] ?? 'INFO',
          category: 'mqtt',
          robot_id: s.robot_id,
          source: 'registry',
          message: `Robot ${s.robot_id} is ${s.status.replaceAll('_', ' ')}${s.reason ? `: ${s.reason}` : ''}`,
          details: { status: s.status, ip_address: s.ip_address, reason: s.reason ?? undefined },
        }),
      ),
    ),
    events.subscribe('alert.changed', ({ change, alert }) => {
      if (!LOGGED_ALERT_CHANGES.has(change)) return;
      const raised = change === 'raised' || change === 'escalated';
      writer.add(
        logEntry({
          ts: Date.now(),
          level: raised ? (SEVERITY_LEVEL[alert.severity] ?? 'WARNING') : 'INFO',
          category: 'alert',
          robot_id: alert.robot_id,
          source: 'alerts',
          message: `Alert ${change} (${alert.severity}): ${alert.title}`,
          details: {
            alert_id: alert.id,
            change,
            alert_type: alert.alert_type,
            state: alert.state,
            value: alert.value,
          },
        }),
      );
    }),
    events.subscribe('command.changed', (c) =>
      writer.add(
        logEntry({
          ts: Date.now(),
          level: COMMAND_LEVEL[c.status] ?? 'INFO',
          category: 'command',
          robot_id: c.robot_id,
          source: 'commands',
          message: `Command ${c.command} ${c.status.replaceAll('_', ' ')}${c.message ? `: ${c.message}` : ''}`,
          details: {
            command_id: c.command_id,
            command: c.command,
            status: c.status,
            requested_by: c.requested_by,
          },
        }),
      ),
    ),
    events.subscribe('audit.recorded', (a) => {
      const who = a.actor.name ?? a.actor.id ?? a.actor.type;
      const target = a.target ? ` ${a.target.type} ${a.target.id}` : '';
      writer.add(
        logEntry({
          ts: a.at,
          level: a.outcome === 'success' ? 'INFO' : 'WARNING',
          category: a.action.startsWith('auth.') ? 'auth' : 'audit',
          robot_id: a.target?.type === 'robot' ? a.target.id : null,
          source: 'audit',
          message: `${who}: ${a.action}${target} (${a.outcome})`,
          details: {
            actor: a.actor,
            action: a.action,
            target: a.target,
            address: a.address,
            details: a.details,
          },
        }),
      );
    }),
    events.subscribe('server.error', (e) =>
      writer.add(
        logEntry({
          ts: e.at,
          level: 'ERROR',
          category: 'api',
          source: 'http',
          message: `${e.method} ${e.url} failed (${e.status}): ${e.message}`,
          details: { method: e.method, url: e.url, status: e.status },
        }),
      ),
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}
