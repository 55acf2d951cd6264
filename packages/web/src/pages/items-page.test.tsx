import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Item } from '../api/types';
import { mockApi, renderApp } from '../test/render';
import ItemsPage from './items-page';

function item(id: number, over: Partial<Item> = {}): Item {
  return {
    id,
    qr_code: `QR-${id}`,
    sku: null,
    name: `Item ${id}`,
    description: null,
    weight_kg: null,
    location: null,
    attributes: {},
    created_at: '2026-12-01T10:00:00.000Z',
    updated_at: '2026-12-01T10:00:00.000Z',
    ...over,
  };
}

describe('ItemsPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('imports a CSV as text/csv and shows each rejected row with its line, column and reason', async () => {
    let sent: { type: string | null; body: string; mode: string | null } | undefined;
    mockApi({
      'GET /items': { items: [item(1)], total: 1 },
      'POST /items/import': ({ url, body, headers }: { url: URL; body: unknown; headers: Headers }) => {
        sent = { type: headers.get('content-type'), body: String(body), mode: url.searchParams.get('mode') };
        return {
          mode: url.searchParams.get('mode'),
          rows: 3,
          created: 1,
          updated: 0,
          rejected: 2,
          errors: [
            { row: 3, field: 'weight_kg', message: 'must be a number at least 0' },
            { row: 4, field: null, message: 'qr_code is already in the catalogue' },
          ],
        };
      },
    });
    renderApp(<ItemsPage />, { path: '/items' });
    await screen.findByText('Item 1');
    await userEvent.click(screen.getByRole('button', { name: /Import CSV/ }));
    const dialog = await screen.findByRole('dialog');
    const csv = 'qr_code,name,weight_kg\nA,Apple,1\nB,Banana,heavy\nQR-1,Dup,2\n';
    await userEvent.upload(
      within(dialog).getByLabelText('CSV file'),
      new File([csv], 'items.csv', { type: 'text/csv' }),
    );
    await userEvent.click(within(dialog).getByLabelText('is an error'));
    await userEvent.click(within(dialog).getByRole('button', { name: /^Import$/ }));
    const report = await within(dialog).findByTestId('import-report');
    expect(sent).toEqual({ type: 'text/csv', body: csv, mode: 'insert' });
    expect(report.textContent).toContain('3 rows read: 1 created, 0 updated, 2 rejected.');
    const rows = within(report)
      .getAllByRole('row')
      .slice(1)
      .map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      );
    expect(rows).toEqual([
      ['3', 'weight_kg', 'must be a number at least 0'],
      ['4', 'whole row', 'qr_code is already in the catalogue'],
    ]);
  });

  it('shows why a whole file was refused', async () => {
    mockApi({
      'GET /items': { items: [], total: 0 },
      'POST /items/import': () =>
        new Response(
          JSON.stringify({
            error: { code: 'invalid_csv', message: 'Unknown column "colour" in the header' },
          }),
          { status: 400 },
        ),
    });
    renderApp(<ItemsPage />, { path: '/items' });
    await screen.findByText('The catalogue is empty');
    await userEvent.click(screen.getByRole('button', { name: /Import CSV/ }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.upload(
      within(dialog).getByLabelText('CSV file'),
      new File(['qr_code,colour\n'], 'x.csv'),
    );
    await userEvent.click(within(dialog).getByRole('button', { name: /^Import$/ }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe(
      'Unknown column "colour" in the header',
    );
  });

  it('creates an item, and hides editing from a viewer', async () => {
    const { calls } = mockApi({
      'GET /items': { items: [], total: 0 },
      'POST /items': ({ body }: { body: unknown }) => ({ ...item(7), ...(body as object) }),
    });
    const first = renderApp(<ItemsPage />, { path: '/items' });
    await screen.findByText('The catalogue is empty');
    await userEvent.click(screen.getByRole('button', { name: /Add item/ }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText(/^Code/), 'BOX-9');
    await userEvent.type(within(dialog).getByLabelText(/^Name/), 'Blue box');
    await userEvent.type(within(dialog).getByLabelText('Weight (kg)'), '1.5');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Add item' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/items')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      qr_code: 'BOX-9',
      name: 'Blue box',
      sku: null,
      description: null,
      location: null,
      weight_kg: 1.5,
    });
    first.unmount();
    vi.unstubAllGlobals();
    mockApi({ 'GET /items': { items: [item(1)], total: 1 } }, { role: 'viewer' });
    renderApp(<ItemsPage />, { path: '/items' });
    await screen.findByText('Item 1');
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole('button', { name: /Add item|Import CSV|Edit|Delete/ })).toBeNull();
    expect(screen.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toBe(
      '/api/v1/items/export',
    );
  });
});
