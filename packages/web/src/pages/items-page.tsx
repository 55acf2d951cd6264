import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Download, Pencil, Plus, Trash2, Upload } from 'lucide-react';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useSearchParams } from 'react-router';
import { API_BASE, api, errorMessage } from '../api/client';
import type { Item, ItemImportReport, ItemList } from '../api/types';
import { useCan } from '../auth/auth';
import { Dialog } from '../components/dialog';
import { useToast } from '../components/toasts';
import {
  Button,
  Card,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  Time,
} from '../components/ui';

const PAGE = 50;

interface Draft {
  qr_code: string;
  sku: string;
  name: string;
  description: string;
  weight_kg: string;
  location: string;
}

function draftOf(item?: Item): Draft {
  return {
    qr_code: item?.qr_code ?? '',
    sku: item?.sku ?? '',
    name: item?.name ?? '',
    description: item?.description ?? '',
    weight_kg: item?.weight_kg === null || item?.weight_kg === undefined ? '' : String(item.weight_kg),
    location: item?.location ?? '',
  };
}

function bodyOf(d: Draft) {
  const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
  return {
    qr_code: d.qr_code.trim(),
    name: d.name.trim(),
    sku: orNull(d.sku),
    description: orNull(d.description),
    location: orNull(d.location),
    weight_kg: d.weight_kg.trim() === '' ? null : Number(d.weight_kg),
  };
}

function ItemDialog({ item, open, onClose }: { item?: Item; open: boolean; onClose: () => void }) {
  const [draft, setDraft] = useState(draftOf(item));
  const ids = useId();
  const client = useQueryClient();
  const toast = useToast();
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new item or a reopened dialog starts from the item.
  useEffect(() => setDraft(draftOf(item)), [item, open]);
  const save = useMutation({
    mutationFn: () =>
      item
        ? api<Item>(`/items/${item.id}`, { method: 'PATCH', body: bodyOf(draft) })
        : api<Item>('/items', { method: 'POST', body: bodyOf(draft) }),
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ['items'] });
      toast.push({ title: item ? `Saved ${saved.name}` : `Added ${saved.name}`, tone: 'success' });
      onClose();
    },
  });
  const field = (key: keyof Draft, label: string, opts: { required?: boolean; type?: string } = {}) => (
    <div>
      <label htmlFor={`${ids}-${key}`} className="mb-1 block text-sm font-medium">
        {label}
        {opts.required && ' (required)'}
      </label>
      <input
        id={`${ids}-${key}`}
        className={inputClass}
        required={opts.required}
        type={opts.type ?? 'text'}
        step={opts.type === 'number' ? 'any' : undefined}
        min={opts.type === 'number' ? 0 : undefined}
        value={draft[key]}
        onChange={(e) => setDraft((d) => ({ ...d, [key]: e.target.value }))}
      />
    </div>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => !o && onClose()}
      title={item ? `Edit ${item.name}` : 'Add an item'}
    >
      <form onSubmit={submit} className="space-y-3">
        {field('qr_code', 'Code (QR, barcode or RFID)', { required: true })}
        {field('name', 'Name', { required: true })}
        {field('sku', 'SKU')}
        {field('description', 'Description')}
        {field('weight_kg', 'Weight (kg)', { type: 'number' })}
        {field('location', 'Location')}
        {save.isError && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {errorMessage(save.error)}
          </p>
        )}
        <div className="flex justify-end gap-2 pt-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" tone="primary" busy={save.isPending}>
            {item ? 'Save' : 'Add item'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ item, onClose }: { item: Item | undefined; onClose: () => void }) {
  const client = useQueryClient();
  const toast = useToast();
  const remove = useMutation({
    mutationFn: (it: Item) => api<void>(`/items/${it.id}`, { method: 'DELETE' }),
    onSuccess: (_v, it) => {
      void client.invalidateQueries({ queryKey: ['items'] });
      toast.push({ title: `Deleted ${it.name}`, tone: 'success' });
      onClose();
    },
  });
  return (
    <Dialog
      open={item !== undefined}
      onOpenChange={(o) => !o && onClose()}
      title={`Delete ${item?.name ?? 'item'}?`}
      description="Robots scanning its code will then report it as not in the catalogue. Past scans keep their record."
    >
      {remove.isError && (
        <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
          {errorMessage(remove.error)}
        </p>
      )}
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button tone="danger" busy={remove.isPending} onClick={() => item && remove.mutate(item)}>
          Delete
        </Button>
      </div>
    </Dialog>
  );
}

/** The outcome of a CSV import: counts, then every rejected row with its line, column and reason. */
export function ImportReport({ report }: { report: ItemImportReport }) {
  return (
    <div data-testid="import-report" className="space-y-2 text-sm">
      <p>
        {report.rows} rows read: {report.created} created, {report.updated} updated, {report.rejected}{' '}
        rejected.
      </p>
      {report.errors.length > 0 && (
        <div className="max-h-72 overflow-auto rounded-md border border-slate-200 dark:border-slate-700">
          <table className="w-full text-left">
            <caption className="sr-only">Rows not imported</caption>
            <thead className="bg-slate-50 text-xs dark:bg-slate-800">
              <tr>
                <th className="px-2 py-1 font-medium">Line</th>
                <th className="px-2 py-1 font-medium">Column</th>
                <th className="px-2 py-1 font-medium">Problem</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e) => (
                <tr
                  key={`${e.row}-${e.field}-${e.message}`}
                  className="border-t border-slate-200 dark:border-slate-700"
                >
                  <td className="px-2 py-1 tabular-nums">{e.row}</td>
                  <td className="px-2 py-1 font-mono">{e.field ?? 'whole row'}</td>
                  <td className="px-2 py-1">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ids = useId();
  const client = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<'upsert' | 'insert'>('upsert');
  const run = useMutation({
    mutationFn: async () => {
      if (!file) throw new Error('Choose a CSV file first');
      const text = await file.text();
      return api<ItemImportReport>('/items/import', {
        method: 'POST',
        query: { mode },
        text: { body: text, type: 'text/csv' },
      });
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: ['items'] }),
  });
  const close = () => {
    run.reset();
    setFile(null);
    onClose();
  };
  return (
    <Dialog
      wide
      open={open}
      onOpenChange={(o) => !o && close()}
      title="Import items from CSV"
      description="A header line with qr_code and name, and any of sku, description, weight_kg, location, attributes (JSON). Valid rows are imported; each rejected row is listed below."
    >
      <div className="space-y-3">
        <div>
          <label htmlFor={`${ids}-file`} className="mb-1 block text-sm font-medium">
            CSV file
          </label>
          <input
            id={`${ids}-file`}
            type="file"
            accept=".csv,text/csv"
            className="block w-full text-sm"
            onChange={(e) => {
              run.reset();
              setFile(e.target.files?.[0] ?? null);
            }}
          />
        </div>
        <fieldset>
          <legend className="mb-1 text-sm font-medium">A code already in the catalogue</legend>
          <label className="mr-4 text-sm">
            <input
              type="radio"
              name={`${ids}-mode`}
              checked={mode === 'upsert'}
              onChange={() => setMode('upsert')}
            />{' '}
            updates that item
          </label>
          <label className="text-sm">
            <input
              type="radio"
              name={`${ids}-mode`}
              checked={mode === 'insert'}
              onChange={() => setMode('insert')}
            />{' '}
            is an error
          </label>
        </fieldset>
        {run.isError && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {errorMessage(run.error)}
          </p>
        )}
        {run.data && <ImportReport report={run.data} />}
        <div className="flex justify-end gap-2">
          <Button onClick={close}>{run.data ? 'Close' : 'Cancel'}</Button>
          <Button tone="primary" disabled={!file} busy={run.isPending} onClick={() => run.mutate()}>
            <Upload aria-hidden className="size-4" /> Import
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

/** The item catalogue: what robots' scans are looked up in. Searching in the URL; editing with items:manage. */
export default function ItemsPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q')?.trim() || undefined;
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const [search, setSearch] = useState(q ?? '');
  const canManage = useCan('items:manage');
  const [editing, setEditing] = useState<Item | 'new' | undefined>();
  const [deleting, setDeleting] = useState<Item | undefined>();
  const [importing, setImporting] = useState(false);
  const searchId = useId();

  useEffect(() => {
    const t = setTimeout(() => {
      const next = search.trim() || undefined;
      if (next !== q)
        setParams(
          (p) => {
            const n = new URLSearchParams(p);
            if (next) n.set('q', next);
            else n.delete('q');
            n.delete('offset');
            return n;
          },
          { replace: true },
        );
    }, 300);
    return () => clearTimeout(t);
  });

  const list = useQuery({
    queryKey: ['items', q, offset],
    queryFn: ({ signal }) => api<ItemList>('/items', { query: { q, limit: PAGE, offset }, signal }),
  });
  const goTo = (o: number) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      if (o > 0) n.set('offset', String(o));
      else n.delete('offset');
      return n;
    });

  return (
    <div>
      <PageHeader title="Item catalogue">
        <a
          href={`${API_BASE}/items/export`}
          download
          className="inline-flex items-center gap-1.5 rounded-md border border-slate-300 px-3.5 py-2 text-sm font-medium hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
        >
          <Download aria-hidden className="size-4" /> Export CSV
        </a>
        {canManage && (
          <>
            <Button onClick={() => setImporting(true)}>
              <Upload aria-hidden className="size-4" /> Import CSV
            </Button>
            <Button tone="primary" onClick={() => setEditing('new')}>
              <Plus aria-hidden className="size-4" /> Add item
            </Button>
          </>
        )}
      </PageHeader>
      <div className="mb-4 max-w-md">
        <label htmlFor={searchId} className="mb-1 block text-sm font-medium">
          Search items
        </label>
        <input
          id={searchId}
          type="search"
          className={inputClass}
          placeholder="Code, SKU, name or description"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {list.isPending ? (
        <Loading label="Loading the catalogue…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState title={q ? 'No item matches this search' : 'The catalogue is empty'}>
          {q
            ? 'Try part of the code or the name.'
            : canManage
              ? 'Add an item or import a CSV file.'
              : 'An operator or an admin can add items.'}
        </EmptyState>
      ) : (
        <Card className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Items</caption>
            <thead className="bg-slate-50 text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-300">
              <tr>
                <th className="px-3 py-2 font-medium">Code</th>
                <th className="px-3 py-2 font-medium">Name</th>
                <th className="hidden px-3 py-2 font-medium sm:table-cell">SKU</th>
                <th className="hidden px-3 py-2 font-medium md:table-cell">Location</th>
                <th className="hidden px-3 py-2 font-medium md:table-cell">Weight</th>
                <th className="hidden px-3 py-2 font-medium lg:table-cell">Updated</th>
                {canManage && (
                  <th className="px-3 py-2 font-medium">
                    <span className="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((it) => (
                <tr
                  key={it.id}
                  data-testid={`item-${it.qr_code}`}
                  className="border-t border-slate-200 dark:border-slate-800"
                >
                  <td className="px-3 py-2 font-mono break-all">{it.qr_code}</td>
                  <td className="px-3 py-2">{it.name}</td>
                  <td className="hidden px-3 py-2 sm:table-cell">{it.sku ?? '—'}</td>
                  <td className="hidden px-3 py-2 md:table-cell">{it.location ?? '—'}</td>
                  <td className="hidden px-3 py-2 md:table-cell">
                    {it.weight_kg === null ? '—' : `${it.weight_kg} kg`}
                  </td>
                  <td className="hidden px-3 py-2 lg:table-cell">
                    <Time value={it.updated_at} />
                  </td>
                  {canManage && (
                    <td className="px-3 py-2 whitespace-nowrap">
                      <Button
                        size="sm"
                        tone="ghost"
                        aria-label={`Edit ${it.name}`}
                        onClick={() => setEditing(it)}
                      >
                        <Pencil aria-hidden className="size-4" />
                      </Button>
                      <Button
                        size="sm"
                        tone="ghost"
                        aria-label={`Delete ${it.name}`}
                        onClick={() => setDeleting(it)}
                      >
                        <Trash2 aria-hidden className="size-4" />
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <div className="flex flex-wrap items-center justify-between gap-2 border-t border-slate-200 p-3 text-sm dark:border-slate-800">
            <span>
              {offset + 1}–{offset + list.data.items.length} of {list.data.total}
            </span>
            <span className="flex gap-2">
              <Button size="sm" disabled={offset === 0} onClick={() => goTo(Math.max(0, offset - PAGE))}>
                Previous
              </Button>
              <Button
                size="sm"
                disabled={offset + list.data.items.length >= list.data.total}
                onClick={() => goTo(offset + PAGE)}
              >
                Next
              </Button>
            </span>
          </div>
        </Card>
      )}
      {canManage && (
        <>
          <ItemDialog
            open={editing !== undefined}
            item={editing === 'new' ? undefined : editing}
            onClose={() => setEditing(undefined)}
          />
          <DeleteDialog item={deleting} onClose={() => setDeleting(undefined)} />
          <ImportDialog open={importing} onClose={() => setImporting(false)} />
        </>
      )}
    </div>
  );
}
