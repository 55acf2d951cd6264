import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommandView } from '../../api/types';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import { CommandsTab } from './commands-tab';

function commandView(over: Partial<CommandView> = {}): CommandView {
  return {
    command_id: 'c1',
    robot_id: 'r1',
    command: 'move',
    params: { direction: 'forward', distance_m: 0.5, speed_mps: 0.15 },
    status: 'sent',
    message: null,
    requested_by: 'operator-user',
    created_at: new Date().toISOString(),
    sent_at: new Date().toISOString(),
    acknowledged_at: null,
    finished_at: null,
    ...over,
  };
}

const empty = { items: [], next_cursor: null };

describe('CommandsTab', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('checks the params against the vocabulary before sending, and names each bad field', async () => {
    const { calls } = mockApi({ 'GET /robots/r1/commands': empty }, { role: 'operator' });
    renderApp(<CommandsTab robot={robotFixture('r1')} />);
    const distance = await screen.findByLabelText('Distance (m)');
    await userEvent.clear(distance);
    await userEvent.type(distance, '20');
    await userEvent.clear(screen.getByLabelText('Speed (m/s)'));
    await userEvent.click(screen.getByRole('button', { name: /Send move/ }));
    expect(screen.getByText('Distance (m): at most 10')).toBeTruthy();
    expect(screen.getByText('Speed (m/s): required')).toBeTruthy();
    expect(distance.getAttribute('aria-invalid')).toBe('true');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('sends the command, then shows its result as the command frame arrives', async () => {
    const { calls } = mockApi(
      {
        'GET /robots/r1/commands': empty,
        'POST /robots/r1/commands': () => ({ command_id: 'c1', status: 'sent' }),
      },
      { role: 'operator' },
    );
    const { live } = renderApp(<CommandsTab robot={robotFixture('r1')} />);
    await screen.findByText('No command sent to this robot yet');
    await userEvent.selectOptions(screen.getByLabelText('Command'), 'turn');
    await userEvent.selectOptions(screen.getByLabelText('Direction'), 'right');
    await userEvent.click(screen.getByRole('button', { name: /Send turn/ }));
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')).toBeTruthy());
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      command: 'turn',
      params: { direction: 'right', angle_deg: 90 },
    });
    live.open();
    await waitFor(() =>
      expect(live.socket().sent).toContainEqual(
        expect.objectContaining({ type: 'subscribe', channels: ['command'] }),
      ),
    );
    live.socket().frame({
      type: 'command',
      ...commandView({ command: 'turn', params: { direction: 'right', angle_deg: 90 }, status: 'sent' }),
    });
    live.flush();
    const row = await screen.findByTestId('command-c1');
    expect(within(row).getByText('sent')).toBeTruthy();
    live.socket().frame({
      type: 'command',
      ...commandView({ command: 'turn', status: 'succeeded', message: 'turned 90° right' }),
    });
    live.socket().frame({ type: 'command', ...commandView({ command_id: 'other', robot_id: 'r2' }) });
    live.flush();
    await waitFor(() => expect(within(screen.getByTestId('command-c1')).getByText('succeeded')).toBeTruthy());
    expect(within(screen.getByTestId('command-c1')).getByText('turned 90° right')).toBeTruthy();
    expect(screen.queryByTestId('command-other')).toBeNull();
  });

  it('keeps a result that arrived while the list was being read, not the older state the list read', async () => {
    // The list read after the POST is answered only once the result frame has arrived: it read 'sent'.
    let answerList: (() => void) | undefined;
    let reads = 0;
    mockApi(
      {
        'GET /robots/r1/commands': async () => {
          reads++;
          if (reads === 1) return empty;
          await new Promise<void>((resolve) => {
            answerList = resolve;
          });
          return { items: [commandView({ command: 'head_nod', params: {} })], next_cursor: null };
        },
        'POST /robots/r1/commands': () => ({ command_id: 'c1', status: 'sent' }),
      },
      { role: 'operator' },
    );
    const { live } = renderApp(<CommandsTab robot={robotFixture('r1')} />);
    live.open();
    await screen.findByText('No command sent to this robot yet');
    await waitFor(() =>
      expect(live.socket().sent).toContainEqual(
        expect.objectContaining({ type: 'subscribe', channels: ['command'] }),
      ),
    );
    await userEvent.selectOptions(screen.getByLabelText('Command'), 'head_nod');
    await userEvent.click(screen.getByRole('button', { name: /Send nod the head/ }));
    await waitFor(() => expect(answerList).toBeTypeOf('function'));
    const now = new Date().toISOString();
    live.socket().frame({
      type: 'command',
      ...commandView({
        command: 'head_nod',
        params: {},
        status: 'succeeded',
        acknowledged_at: now,
        finished_at: now,
      }),
    });
    live.flush();
    await waitFor(() => expect(within(screen.getByTestId('command-c1')).getByText('succeeded')).toBeTruthy());
    answerList?.();
    await waitFor(() => expect(reads).toBe(2));
    // The stale read has landed: the row still says what the robot answered.
    await new Promise((r) => setTimeout(r, 50));
    expect(within(screen.getByTestId('command-c1')).getByText('succeeded')).toBeTruthy();
    expect(within(screen.getByTestId('command-c1')).queryByText('sent')).toBeNull();
  });

  it("lists the API's 400 under each field it names", async () => {
    mockApi(
      {
        'GET /robots/r1/commands': empty,
        'POST /robots/r1/commands': () =>
          new Response(
            JSON.stringify({
              error: {
                code: 'validation_error',
                message: 'Invalid request',
                details: { fields: [{ field: 'body.params.position', message: 'the robot refuses 999' }] },
              },
            }),
            { status: 400, headers: { 'content-type': 'application/json' } },
          ),
      },
      { role: 'operator' },
    );
    renderApp(<CommandsTab robot={robotFixture('r1')} />);
    await userEvent.selectOptions(await screen.findByLabelText('Command'), 'set_servo');
    await userEvent.type(screen.getByLabelText('Servo id'), '3');
    await userEvent.clear(screen.getByLabelText('Position'));
    await userEvent.type(screen.getByLabelText('Position'), '999');
    await userEvent.click(screen.getByRole('button', { name: /Send set a servo/ }));
    expect(await screen.findByText('Position: the robot refuses 999')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/see the fields/);
  });

  it('offers power commands only with robots:power, and no form without robots:control', async () => {
    mockApi({ 'GET /robots/r1/commands': empty }, { role: 'operator' });
    const operator = renderApp(<CommandsTab robot={robotFixture('r1')} />);
    const select = await screen.findByLabelText('Command');
    const options = within(select)
      .getAllByRole('option')
      .map((o) => (o as HTMLOptionElement).value);
    expect(options).toContain('speak');
    expect(options).not.toContain('shutdown');
    expect(options).not.toContain('reboot');
    operator.unmount();
    vi.unstubAllGlobals();

    mockApi({ 'GET /robots/r1/commands': empty }, { role: 'admin' });
    const admin = renderApp(<CommandsTab robot={robotFixture('r1')} />);
    await waitFor(() =>
      expect(
        within(screen.getByLabelText('Command')).getByRole('option', { name: /Shut down/ }),
      ).toBeTruthy(),
    );
    admin.unmount();
    vi.unstubAllGlobals();

    mockApi(
      { 'GET /robots/r1/commands': { items: [commandView({ status: 'succeeded' })], next_cursor: null } },
      { role: 'viewer' },
    );
    renderApp(<CommandsTab robot={robotFixture('r1')} />);
    await screen.findByTestId('command-c1');
    expect(screen.queryByLabelText('Command')).toBeNull();
    expect(screen.queryByRole('button', { name: /Send/ })).toBeNull();
  });
});
