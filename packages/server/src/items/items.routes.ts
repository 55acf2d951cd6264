import {
  CreateItemRequest,
  ErrorBody,
  ITEM_CSV_COLUMNS,
  ITEM_IMPORT_MAX_ROWS,
  ItemIdParams,
  ItemImportQuery,
  ItemImportReport,
  ItemList,
  ItemQuery,
  ItemView,
  UpdateItemRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import { ApiError } from '../errors';
import type { ItemsService } from './items.service';

/** Largest CSV an import takes (about 50,000 rows of a few hundred bytes). */
export const ITEM_IMPORT_MAX_BYTES = 16 * 1024 * 1024;

export function itemsRoutes(items: ItemsService): FastifyPluginAsyncZod {
  return async (app) => {
    // The import's body: CSV as text (this plugin's routes only; the rest of the API takes JSON).
    app.addContentTypeParser(
      ['text/csv', 'application/csv'],
      { parseAs: 'string', bodyLimit: ITEM_IMPORT_MAX_BYTES },
      (_req, body, done) => done(null, body),
    );

    app.get(
      '/items',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['items'],
          summary: 'The item catalogue, by qr_code',
          description:
            'Search text in code, SKU, name and description (q); filter by exact code, SKU or location.',
          querystring: ItemQuery,
          response: { 200: ItemList, 400: ErrorBody },
        },
      },
      async (req) => items.list(req.query),
    );

    app.post(
      '/items',
      {
        config: { permission: 'items:manage' },
        schema: {
          tags: ['items'],
          summary: 'Add an item',
          description:
            '409 item_exists when the qr_code is in the catalogue already. Audited as item.create.',
          body: CreateItemRequest,
          response: { 201: ItemView, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => reply.status(201).send(await items.create(req.body, requestAuditor(req))),
    );

    app.get(
      '/items/export',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['items'],
          summary: 'The whole catalogue as CSV (a download)',
          description:
            `Streamed, a page at a time. Columns: ${ITEM_CSV_COLUMNS.join(', ')} (attributes as JSON): ` +
            'the file POST /items/import reads.',
          produces: ['text/csv'],
        },
      },
      async (_req, reply) => {
        const day = new Date().toISOString().slice(0, 10);
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="items-${day}.csv"`)
          .header('cache-control', 'no-store')
          .send(items.exportCsv());
      },
    );

    app.post(
      '/items/import',
      {
        config: { permission: 'items:manage' },
        bodyLimit: ITEM_IMPORT_MAX_BYTES,
        schema: {
          tags: ['items'],
          summary: 'Import items from CSV (body: text/csv)',
          description:
            `The body is the CSV itself (Content-Type: text/csv), at most ${ITEM_IMPORT_MAX_ROWS} rows: a header ` +
            `with qr_code and name and any of ${ITEM_CSV_COLUMNS.join(', ')}, in any order (attributes as a JSON ` +
            'object). The valid rows are imported; each bad one is reported with its row number (the header is ' +
            'row 1), column and reason. mode=upsert (default) updates the item of a known code (only the columns ' +
            'the file has); mode=insert reports it as an error. 400 invalid_csv when the file cannot be read as a ' +
            'whole (broken quoting, no header, an unknown column); 415 for another content type. Audited as item.import.',
          querystring: ItemImportQuery,
          consumes: ['text/csv'],
          response: { 200: ItemImportReport, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
        },
      },
      async (req) => {
        if (typeof req.body !== 'string') {
          throw new ApiError(
            415,
            'unsupported_media_type',
            'Send the CSV itself as the body, with Content-Type: text/csv',
          );
        }
        return items.importCsv(req.body, req.query.mode, requestAuditor(req));
      },
    );

    app.get(
      '/items/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['items'],
          summary: 'One item',
          params: ItemIdParams,
          response: { 200: ItemView, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => items.get(req.params.id),
    );

    app.patch(
      '/items/:id',
      {
        config: { permission: 'items:manage' },
        schema: {
          tags: ['items'],
          summary: 'Change an item',
          description: 'Only the fields given change; null clears an optional one. Audited as item.update.',
          params: ItemIdParams,
          body: UpdateItemRequest,
          response: { 200: ItemView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => items.update(req.params.id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/items/:id',
      {
        config: { permission: 'items:manage' },
        schema: {
          tags: ['items'],
          summary: 'Remove an item',
          description: 'Its past scans are kept (found, with its id). Audited as item.delete.',
          params: ItemIdParams,
          response: { 204: z.null().describe('Removed'), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => {
        await items.delete(req.params.id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );
  };
}
