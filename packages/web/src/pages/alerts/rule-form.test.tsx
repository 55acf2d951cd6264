import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockApi, renderApp } from '../../test/render';
import { RuleForm } from './rule-form';

describe('RuleForm', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows the API’s validation messages next to the fields they are about', async () => {
    const { calls } = mockApi({
      'POST /alert-rules': new Response(
        JSON.stringify({
          error: {
            code: 'validation_error',
            message: 'Invalid request: body.critical_level: must be above the warning level',
            details: {
              fields: [
                { field: 'body.critical_level', message: 'must be above the warning level' },
                { field: 'body.clear_level', message: 'must be below the warning level' },
              ],
            },
          },
        }),
        { status: 400, headers: { 'content-type': 'application/json' } },
      ),
    });
    const onSaved = vi.fn();
    renderApp(<RuleForm onSaved={onSaved} onCancel={() => {}} />);
    await userEvent.type(await screen.findByLabelText('Field'), 'cpu_percent');
    await userEvent.type(screen.getByLabelText('Warning level'), '90');
    await userEvent.type(screen.getByLabelText('Critical level'), '80');
    await userEvent.type(screen.getByLabelText('Clear level (optional)'), '95');
    await userEvent.click(screen.getByRole('button', { name: 'Create rule' }));
    await screen.findByText('must be above the warning level');
    expect(screen.getByLabelText('Critical level').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Clear level (optional)').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Warning level').getAttribute('aria-invalid')).toBeNull();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      measurement: 'system',
      field: 'cpu_percent',
      direction: 'above',
      warning_level: 90,
      critical_level: 80,
      clear_level: 95,
      sustained_s: 0,
      enabled: true,
      tag_filter: {},
      robot_id: null,
    });
    expect(onSaved).not.toHaveBeenCalled();
  });

  it('checks what it can before sending: a field, a level, a number, a tag value', async () => {
    const { calls } = mockApi({});
    renderApp(<RuleForm onSaved={() => {}} onCancel={() => {}} />);
    await userEvent.type(await screen.findByLabelText('Critical level'), 'abc');
    await userEvent.type(screen.getByLabelText('Only the series with tag (optional)'), 'servo_id');
    await userEvent.click(screen.getByRole('button', { name: 'Create rule' }));
    expect(await screen.findByText('name the field to watch')).toBeTruthy();
    expect(screen.getByText('must be a number')).toBeTruthy();
    expect(screen.getByText(/give the tag’s value/)).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('creates a per-robot rule for one servo, and explains hysteresis and sustained-for', async () => {
    const saved = { id: 5, name: 'servos.temperature_c above' };
    const { calls } = mockApi({ 'POST /alert-rules': saved });
    const onSaved = vi.fn();
    renderApp(<RuleForm robotId="r1" onSaved={onSaved} onCancel={() => {}} />);
    expect(await screen.findByText(/Hysteresis/)).toBeTruthy();
    expect(screen.getByText(/a short spike is ignored/)).toBeTruthy();
    await userEvent.selectOptions(screen.getByLabelText('Measurement'), 'servos');
    await userEvent.type(screen.getByLabelText('Field'), 'temperature_c');
    await userEvent.type(screen.getByLabelText('Only the series with tag (optional)'), 'servo_id');
    await userEvent.type(screen.getByLabelText('Tag value'), '3');
    await userEvent.type(screen.getByLabelText('Critical level'), '70');
    await userEvent.clear(screen.getByLabelText('Sustained for (seconds)'));
    await userEvent.type(screen.getByLabelText('Sustained for (seconds)'), '30');
    await userEvent.click(screen.getByRole('button', { name: 'Create rule' }));
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith(saved));
    expect(calls.find((c) => c.method === 'POST')?.body).toMatchObject({
      robot_id: 'r1',
      measurement: 'servos',
      field: 'temperature_c',
      tag_filter: { servo_id: '3' },
      critical_level: 70,
      warning_level: null,
      sustained_s: 30,
    });
  });
});
