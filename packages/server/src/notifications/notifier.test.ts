import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@tonypi/agent/testing';
import type { AlertView } from '@tonypi/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import type { Channel } from './channels';
import type { DeliveryRow, DeliveryState, NotificationsRepository } from './notifications.repository';
import { Notifier } from './notifier';

/** The delivery log in memory: what the notifier writes, for the tests to read. */
class MemoryLog {
  rows: DeliveryRow[] = [];
  failedWaiting: number[] = [];
  async insertDelivery(d: Omit<DeliveryRow, 'id' | 'created_at' | 'updated_at'>): Promise<DeliveryRow> {
    const row = { ...d, id: this.rows.length + 1, created_at: new Date(), updated_at: new Date() };
    this.rows.push(row);
    return row;
  }
  async updateDelivery(id: number, d: DeliveryState): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row) Object.assign(row, d);
  }
  async failWaiting(ids: readonly number[]): Promise<void> {
    this.failedWaiting.push(...ids);
  }
  async pruneDeliveries(): Promise<void> {}
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** An endpoint that answers `status`, or holds every request (`hang`). */
async function endpoint(answer: number | 'hang'): Promise<{ url: string; held: Set<ServerResponse> }> {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    if (answer === 'hang') held.add(res);
    else res.writeHead(answer).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, held };
}

function notifierWith(env: Record<string, string>) {
  const log = new MemoryLog();
  const settings = loadConfig({ NOTIFICATION_SHUTDOWN_GRACE_MS: '20', ...env }).notifications;
  const notifier = new Notifier({
    repo: log as unknown as NotificationsRepository,
    logger: createLogger('silent'),
    settings,
  });
  return { notifier, log };
}

function webhook(id: number, url: string): Channel {
  return {
    id,
    name: `hook ${id}`,
    enabled: true,
    severities: ['info', 'warning', 'critical'],
    changes: ['raised'],
    created_by: null,
    created_at: new Date(),
    updated_at: new Date(),
    kind: 'webhook',
    webhook: { url },
  };
}

const alert = (id: number): AlertView => ({
  id,
  robot_id: 'tonypi_01',
  alert_type: 'threshold',
  severity: 'warning',
  state: 'open',
  title: 'CPU above 70 %',
  message: 'cpu 75',
  rule_id: 1,
  source: 'cpu',
  value: 75,
  threshold: 70,
  muted: false,
  acknowledged_by: null,
  acknowledged_at: null,
  acknowledge_note: null,
  resolved_by: null,
  resolved_at: null,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
  details: null,
});

describe('Notifier', () => {
  it('drops a notification when the queue is full, counted and shown as a health warning', async () => {
    const hanging = await endpoint('hang');
    const { notifier } = notifierWith({ NOTIFICATION_QUEUE_LIMIT: '1' });
    notifier.put(webhook(1, hanging.url));
    for (const id of [1, 2, 3]) notifier.onAlertChanged({ change: 'raised', alert: alert(id) });
    expect(notifier.counters).toMatchObject({ queued: 1, dropped_full: 2 });
    expect(notifier.warnings()).toEqual([
      expect.stringContaining('notifications dropped: the queue was full'),
    ]);
    await notifier.stop();
  });

  it('at shutdown aborts what hangs past the grace period and fails what waited for a retry', async () => {
    const hanging = await endpoint('hang');
    const failing = await endpoint(503);
    const { notifier, log } = notifierWith({ NOTIFICATION_RETRY_BASE_MS: '600000' });
    notifier.put(webhook(1, hanging.url));
    notifier.put(webhook(2, failing.url));
    notifier.onAlertChanged({ change: 'raised', alert: alert(10) });
    await waitFor(() => log.rows.find((r) => r.channel_id === 2 && r.status === 'retrying'), 5000, 'a retry');
    await waitFor(() => hanging.held.size === 1 || undefined, 5000, 'the hanging request');
    await notifier.stop();
    expect(log.rows.find((r) => r.channel_id === 1)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'aborted: the server is stopping',
    });
    const retrying = log.rows.find((r) => r.channel_id === 2);
    expect(log.failedWaiting).toEqual([retrying?.id]);
    expect(notifier.counters.dropped_stopping).toBe(1);
    // Stopped: a later alert is not taken.
    notifier.onAlertChanged({ change: 'raised', alert: alert(11) });
    expect(notifier.counters.dropped_stopping).toBe(3);
    expect(notifier.stats().held).toBe(0);
  });

  it('sends nothing for a channel whose secrets cannot be opened (not unsigned), and says why', async () => {
    let received = 0;
    const server = createServer((req, res) => {
      received++;
      req.resume();
      res.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { notifier, log } = notifierWith({});
    notifier.put(webhook(1, url), true);
    notifier.onAlertChanged({ change: 'raised', alert: alert(20) });
    const row = await waitFor(() => log.rows.find((r) => r.status === 'failed'), 5000, 'the failed row');
    expect(row).toMatchObject({
      attempts: 1,
      error: expect.stringContaining('sealed under another notification key'),
    });
    expect(received).toBe(0);
    expect(notifier.warnings()).toEqual([expect.stringContaining('set them again')]);
    await notifier.stop();
  });
});
