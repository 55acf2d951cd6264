import { ErrorBody, LogExportQuery, LogList, LogStats, LogStatsQuery, LogsQuery } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LogsService } from './logs.service';

const FILTERS =
  'Filters: `level` (this level or worse), `category` (one or more), `robot_id`, `from`/`to` (default: the last ' +
  '24 hours), `q` (text the message contains, case-insensitive; `%`, `_` and quotes are plain characters).';

export function logsRoutes(logs: LogsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/logs',
      {
        config: { permission: 'logs:read' },
        schema: {
          tags: ['logs'],
          summary: 'The server’s log: robots’ log messages and the server’s own events, newest first',
          description: `${FILTERS} Page with \`limit\` and \`cursor\` (the previous page’s \`next_cursor\`).`,
          querystring: LogsQuery,
          response: { 200: LogList, 400: ErrorBody },
        },
      },
      async (req) => logs.list(req.query),
    );

    app.get(
      '/logs/stats',
      {
        config: { permission: 'logs:read' },
        schema: {
          tags: ['logs'],
          summary: 'Log entries counted by level, category and robot over a range',
          description: FILTERS,
          querystring: LogStatsQuery,
          response: { 200: LogStats, 400: ErrorBody },
        },
      },
      async (req) => logs.stats(req.query),
    );

    app.get(
      '/logs/export',
      {
        config: { permission: 'logs:read' },
        schema: {
          tags: ['logs'],
          summary: 'The log entries a filter selects, as a CSV or NDJSON download, streamed',
          description:
            `${FILTERS} \`format=csv\` (default): a header line, then one line per entry, newest first; cells a ` +
            "spreadsheet would run as a formula (starting with =, +, -, @) are prefixed with ', control " +
            'characters become spaces. `format=json`: NDJSON, one entry object per line (the shape of GET ' +
            '/logs items). Streamed from the database in chunks as the client reads: any size, flat memory. ' +
            'The file name (Content-Disposition) carries the range.',
          querystring: LogExportQuery,
          produces: ['text/csv', 'application/x-ndjson'],
          response: {
            200: z.string().describe('The export (text/csv or application/x-ndjson)'),
            400: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const { stream, fileName } = logs.export(req.query, req.query.format);
        return (
          reply
            .header('content-disposition', `attachment; filename="${fileName}"`)
            .header('cache-control', 'no-store')
            .type(
              req.query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
            )
            // A stream is sent as it is, never serialised: the 200 schema is there for the document.
            .send(stream as never)
        );
      },
    );
  };
}
