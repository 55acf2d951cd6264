import { z } from 'zod';
import { jsonShapeProblem } from './json-shape';
import { text } from './payloads';

/**
 * The item catalogue (issue #7 §4): what a robot's scan is looked up in, answered on its items topic
 * (`tonypi/items/{id}`).
 */
const Iso = z.string().describe('ISO-8601 UTC');

/** Most keys of an item's free attributes, and most bytes of their JSON. */
export const ITEM_ATTRIBUTES_MAX_KEYS = 50;
export const ITEM_ATTRIBUTES_MAX_BYTES = 4096;

export const ItemAttributes = z
  .record(z.string().max(64), z.unknown())
  .superRefine((value, ctx) => {
    if (Object.keys(value).length > ITEM_ATTRIBUTES_MAX_KEYS) {
      ctx.addIssue({ code: 'custom', message: `at most ${ITEM_ATTRIBUTES_MAX_KEYS} attributes` });
      return;
    }
    const problem = jsonShapeProblem(value);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem.detail });
      return;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    if (bytes > ITEM_ATTRIBUTES_MAX_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `at most ${ITEM_ATTRIBUTES_MAX_BYTES} bytes of JSON (got ${bytes})`,
      });
    }
  })
  .describe(
    `Free key/values: at most ${ITEM_ATTRIBUTES_MAX_KEYS} keys, ${ITEM_ATTRIBUTES_MAX_BYTES} bytes of JSON`,
  );

const qrCode = text(512)
  .min(1)
  .refine((v) => v.trim() === v, 'must not start or end with spaces')
  .describe('What the robot reads (QR, barcode or RFID); unique');

/** The fields a person or a CSV row gives. */
export const ItemFields = z.object({
  qr_code: qrCode,
  sku: text(100).nullable().optional(),
  name: text(200).min(1),
  description: text(5000).nullable().optional(),
  weight_kg: z.number().min(0).max(1_000_000).nullable().optional(),
  location: text(200).nullable().optional(),
  attributes: ItemAttributes.optional(),
});
export type ItemFields = z.infer<typeof ItemFields>;

export const CreateItemRequest = ItemFields.strict();
export const UpdateItemRequest = ItemFields.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'name at least one field to change');
export type UpdateItemRequest = z.infer<typeof UpdateItemRequest>;

export const ItemView = z
  .object({
    id: z.number().int(),
    qr_code: z.string(),
    sku: z.string().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    weight_kg: z.number().nullable(),
    location: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    created_at: Iso,
    updated_at: Iso,
  })
  .meta({ id: 'Item' });
export type ItemView = z.infer<typeof ItemView>;

export const ItemIdParams = z.object({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

export const ItemQuery = z.object({
  q: text(200).optional().describe('Text in the qr_code, sku, name or description (case-insensitive)'),
  qr_code: text(512).optional().describe('Exactly this code'),
  sku: text(100).optional(),
  location: text(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});
export type ItemQuery = z.infer<typeof ItemQuery>;

export const ItemList = z.object({
  items: z.array(ItemView).describe('By qr_code'),
  total: z.number().int(),
});

/** The CSV columns, in the order export writes them; import needs `qr_code` and `name`, the rest may be left out. */
export const ITEM_CSV_COLUMNS = [
  'qr_code',
  'sku',
  'name',
  'description',
  'weight_kg',
  'location',
  'attributes',
] as const;

/** Most data rows one import takes. */
export const ITEM_IMPORT_MAX_ROWS = 50_000;

export const ItemImportQuery = z.object({
  mode: z
    .enum(['upsert', 'insert'])
    .default('upsert')
    .describe('upsert: a row whose qr_code exists updates that item; insert: such a row is an error'),
});

export const ItemImportError = z.object({
  row: z.number().int().describe('The line of the CSV (the header is line 1)'),
  field: z.string().nullable().describe('The column, or null for the whole row'),
  message: z.string(),
});

export const ItemImportReport = z.object({
  mode: z.enum(['upsert', 'insert']),
  rows: z.number().int().describe('Data rows read'),
  created: z.number().int(),
  updated: z.number().int(),
  rejected: z.number().int().describe('Rows not imported; each has at least one entry in errors'),
  errors: z.array(ItemImportError),
});
export type ItemImportReport = z.infer<typeof ItemImportReport>;

/** What the server answers a scan with, on `tonypi/items/{robot_id}` (QoS 1), as the original backend did. */
export interface ScanAnswer {
  robot_id: string;
  qr: string;
  found: boolean;
  item?: {
    id: number;
    qr_code: string;
    sku: string | null;
    name: string;
    description: string | null;
    weight_kg: number | null;
    location: string | null;
    attributes: Record<string, unknown>;
  };
  message?: string;
  /** ISO-8601 UTC. */
  timestamp: string;
}
