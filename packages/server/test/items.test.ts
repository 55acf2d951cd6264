import { parse } from 'csv-parse/sync';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/** The item catalogue (issue #7 §4): CRUD, CSV import and export, and scans answered on the items topic. */

let t: TestServer;
const clients: MqttClient[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});
afterAll(async () => {
  await t?.close();
});

const post = (json: unknown) => t.api('/api/v1/items', { method: 'POST', json });
const importCsv = (csv: string, query = '', contentType = 'text/csv') =>
  t.api(`/api/v1/items/import${query}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: csv,
  });
const errorOf = async (res: Response) =>
  (await res.json()).error as { code: string; message: string; details?: unknown };

describe('/api/v1/items CRUD', () => {
  it('adds, reads, changes and removes an item, each change audited', async () => {
    const created = await post({
      qr_code: 'QR-CRUD-1',
      sku: 'SKU-1',
      name: 'Widget',
      weight_kg: 0.25,
      location: 'Shelf 1',
      attributes: { colour: 'red' },
    });
    expect(created.status).toBe(201);
    const item = await created.json();
    expect(item).toMatchObject({
      qr_code: 'QR-CRUD-1',
      name: 'Widget',
      description: null,
      attributes: { colour: 'red' },
    });

    expect(await (await t.api(`/api/v1/items/${item.id}`)).json()).toEqual(item);
    const patched = await t.api(`/api/v1/items/${item.id}`, {
      method: 'PATCH',
      json: { name: 'Widget A', location: null },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ name: 'Widget A', location: null, sku: 'SKU-1' });

    const found = await (await t.api('/api/v1/items?q=widget%20a')).json();
    expect(found.items.map((i: { id: number }) => i.id)).toEqual([item.id]);
    expect((await (await t.api('/api/v1/items?sku=SKU-1')).json()).total).toBe(1);

    expect((await t.api(`/api/v1/items/${item.id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await t.api(`/api/v1/items/${item.id}`);
    expect(gone.status).toBe(404);
    expect((await errorOf(gone)).code).toBe('item_not_found');

    const audit = await (await t.api('/api/v1/audit?action=item.')).json();
    const actions = audit.items
      .filter((e: { target: { id: string } | null }) => e.target?.id === String(item.id))
      .map((e: { action: string }) => e.action);
    expect(actions).toEqual(['item.delete', 'item.update', 'item.create']);
  });

  it('refuses a second item with the same qr_code (409 item_exists), by POST and by PATCH', async () => {
    expect((await post({ qr_code: 'QR-DUP', name: 'One' })).status).toBe(201);
    const again = await post({ qr_code: 'QR-DUP', name: 'Two' });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe('item_exists');
    const other = await (await post({ qr_code: 'QR-DUP-2', name: 'Other' })).json();
    const patch = await t.api(`/api/v1/items/${other.id}`, { method: 'PATCH', json: { qr_code: 'QR-DUP' } });
    expect(patch.status).toBe(409);
    expect((await errorOf(patch)).code).toBe('item_exists');
  });

  it('answers 400 validation_error naming each bad field', async () => {
    const bad = await post({
      qr_code: '',
      name: 'x',
      weight_kg: -1,
      attributes: { big: 'x'.repeat(5000) },
      extra: 1,
    });
    expect(bad.status).toBe(400);
    const error = await errorOf(bad);
    expect(error.code).toBe('validation_error');
    const fields = (error.details as { fields: Array<{ field: string }> }).fields.map((f) => f.field);
    // `body`: the unknown key `extra`.
    expect(fields.sort()).toEqual(['body', 'body.attributes', 'body.qr_code', 'body.weight_kg']);
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expect((await post({ qr_code: 'QR-ATTR', name: 'x', attributes: tooMany })).status).toBe(400);
    expect((await t.api('/api/v1/items/1', { method: 'PATCH', json: {} })).status).toBe(400);
    expect((await t.api('/api/v1/items/999999', { method: 'PATCH', json: { name: 'x' } })).status).toBe(404);
    expect((await t.api('/api/v1/items/999999', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('POST /api/v1/items/import', () => {
  it('imports the valid rows and reports each bad one with its row, column and reason', async () => {
    const csv = [
      'qr_code,name,sku,weight_kg,location,attributes',
      'QR-IMP-1,Bolt,B-1,0.01,Bin 1,',
      'QR-IMP-2,Nut,N-1,heavy,Bin 2,',
      ',Washer,W-1,0.002,Bin 3,',
      'QR-IMP-3,Screw,S-1,0.004,Bin 4,"{""thread"":""M4""}"',
      'QR-IMP-4,Spring,SP-1,0.003,Bin 5,[1]',
      'QR-IMP-1,Bolt again,B-1,0.01,Bin 1,',
      'QR-IMP-5,Too few',
      'QR-IMP-6,Pin,P-1,-2,Bin 6,not json',
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report).toMatchObject({ mode: 'upsert', rows: 8, created: 2, updated: 0, rejected: 6 });
    expect(report.errors).toEqual([
      { row: 3, field: 'weight_kg', message: 'not a number: heavy' },
      { row: 4, field: 'qr_code', message: 'required' },
      { row: 6, field: 'attributes', message: 'must be a JSON object, e.g. {"colour":"red"}' },
      { row: 7, field: 'qr_code', message: 'repeats the code of row 2' },
      { row: 8, field: null, message: 'has 2 values, the header 6 columns' },
      {
        row: 9,
        field: 'attributes',
        message: 'not JSON: write the attributes as a JSON object, e.g. {"colour":"red"}',
      },
    ]);
    const screw = (await (await t.api('/api/v1/items?qr_code=QR-IMP-3')).json()).items[0];
    expect(screw).toMatchObject({ name: 'Screw', weight_kg: 0.004, attributes: { thread: 'M4' } });
  });

  it('updates known codes in upsert mode (only the columns the file has), and reports them in insert mode', async () => {
    await importCsv('qr_code,name,location\nQR-UPS-1,Gear,Rack 1\n');
    const upsert = await (await importCsv('qr_code,name\nQR-UPS-1,Gear v2\nQR-UPS-2,Cog\n')).json();
    expect(upsert).toMatchObject({ created: 1, updated: 1, rejected: 0, errors: [] });
    const gear = (await (await t.api('/api/v1/items?qr_code=QR-UPS-1')).json()).items[0];
    expect(gear).toMatchObject({ name: 'Gear v2', location: 'Rack 1' });

    const insert = await (
      await importCsv('qr_code,name\nQR-UPS-1,Gear v3\nQR-UPS-3,Pulley\n', '?mode=insert')
    ).json();
    expect(insert).toMatchObject({ mode: 'insert', created: 1, updated: 0, rejected: 1 });
    expect(insert.errors).toEqual([
      { row: 2, field: 'qr_code', message: 'an item with this code exists (mode=insert)' },
    ]);
    expect((await importCsv('qr_code,name\n', '?mode=merge')).status).toBe(400);
  });

  it('refuses a file it cannot read as a whole with 400 invalid_csv saying why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['sku,name\nS,N\n', /"qr_code" column/],
      ['qr_code,sku\nQ,S\n', /"name" column/],
      ['qr_code,name,colour\nQ,N,red\n', /Unknown column "colour"/],
      ['qr_code,name,name\nQ,N,M\n', /appears twice/],
      ['qr_code,name\n"QR-OPEN,Broken\n', /Not readable as CSV/],
      [
        `qr_code,name\n${Array.from({ length: 50_001 }, (_, i) => `QR-MANY-${i},Many`).join('\n')}`,
        /At most 50000/,
      ],
    ];
    for (const [csv, message] of cases) {
      const res = await importCsv(csv);
      expect(res.status, csv.slice(0, 40)).toBe(400);
      const error = await errorOf(res);
      expect(error.code, csv.slice(0, 40)).toBe('invalid_csv');
      expect(error.message, csv.slice(0, 40)).toMatch(message);
    }
  });

  it('answers 415 for a body that is not text/csv', async () => {
    const json = await t.api('/api/v1/items/import', { method: 'POST', json: { qr_code: 'x' } });
    expect(json.status).toBe(415);
    expect((await errorOf(json)).code).toBe('unsupported_media_type');
    expect((await importCsv('<items/>', '', 'application/xml')).status).toBe(415);
  });
});

describe('GET /api/v1/items/export', () => {
  it('streams the catalogue as a CSV download that imports back unchanged', async () => {
    await post({
      qr_code: 'QR-EXP-1',
      name: 'Comma, "quoted"',
      description: 'two\nlines',
      attributes: { a: [1, 2] },
    });
    const res = await t.api('/api/v1/items/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="items-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const text = await res.text();
    const records = parse(text, { columns: true }) as Array<Record<string, string>>;
    const listed = await (await t.api('/api/v1/items?limit=500')).json();
    expect(records).toHaveLength(listed.total);
    expect(Object.keys(records[0]!)).toEqual([
      'qr_code',
      'sku',
      'name',
      'description',
      'weight_kg',
      'location',
      'attributes',
    ]);
    const exported = records.find((r) => r.qr_code === 'QR-EXP-1');
    expect(exported).toMatchObject({
      name: 'Comma, "quoted"',
      description: 'two\nlines',
      attributes: '{"a":[1,2]}',
    });

    const before = listed.items.map(({ updated_at: _u, ...rest }: Record<string, unknown>) => rest);
    const back = await (await importCsv(text)).json();
    expect(back).toMatchObject({ created: 0, updated: listed.total, rejected: 0, errors: [] });
    const after = (await (await t.api('/api/v1/items?limit=500')).json()).items.map(
      ({ updated_at: _u, ...rest }: Record<string, unknown>) => rest,
    );
    expect(after).toEqual(before);
  });
});

describe('a robot’s scan', () => {
  async function scanner(id: string) {
    const c = await connectMqtt(t.mqttUrl, { clientId: id });
    clients.push(c);
    const answers: Array<Record<string, unknown>> = [];
    c.on('message', (topic, payload) => {
      if (topic === `tonypi/items/${id}`) answers.push(JSON.parse(payload.toString()));
    });
    await c.subscribeAsync(`tonypi/items/${id}`, { qos: 1 });
    return { c, answers };
  }

  it('is answered on tonypi/items/{id}, found or not, for the canonical code and the legacy qr_data and qr', async () => {
    await post({
      qr_code: 'QR12345',
      sku: 'ITEM-001',
      name: 'Widget A',
      weight_kg: 0.5,
      location: 'Shelf A',
    });
    const { c, answers } = await scanner('scan_bot');
    await c.publishAsync(
      'tonypi/scan_bot/scan',
      JSON.stringify({ code: 'QR12345', station_name: 'Shelf A' }),
      { qos: 1 },
    );
    await c.publishAsync(
      'tonypi/scan/scan_bot',
      JSON.stringify({ robot_id: 'scan_bot', qr_data: 'QR12345', station_name: 'Station B', action: 'pick' }),
      { qos: 1 },
    );
    await c.publishAsync('tonypi/scan/scan_bot', JSON.stringify({ robot_id: 'scan_bot', qr: 'NOPE-1' }), {
      qos: 1,
    });
    await waitFor(() => answers.length === 3 || undefined, 5000, 'three answers');
    for (const a of answers.slice(0, 2)) {
      expect(a).toMatchObject({
        robot_id: 'scan_bot',
        qr: 'QR12345',
        found: true,
        item: { qr_code: 'QR12345', sku: 'ITEM-001', name: 'Widget A', weight_kg: 0.5, location: 'Shelf A' },
      });
      expect(a.message).toBeUndefined();
      expect(Number.isNaN(Date.parse(String(a.timestamp)))).toBe(false);
    }
    expect(answers[2]).toEqual({
      robot_id: 'scan_bot',
      qr: 'NOPE-1',
      found: false,
      message: 'Item not found in the catalogue',
      timestamp: expect.any(String),
    });

    const scans = await waitFor(async () => {
      const body = await (await t.api('/api/v1/scans?robot_id=scan_bot')).json();
      return body.total === 3 ? body : undefined;
    });
    expect(scans.items).toMatchObject([
      { code: 'NOPE-1', found: false, item_id: null, job_id: null },
      { code: 'QR12345', found: true, item_name: 'Widget A', station_name: 'Station B', action: 'pick' },
      { code: 'QR12345', found: true, station_name: 'Shelf A', action: null },
    ]);
    const missed = await (await t.api('/api/v1/scans?robot_id=scan_bot&found=false')).json();
    expect(missed.items.map((s: { code: string }) => s.code)).toEqual(['NOPE-1']);
    const byCode = await (await t.api('/api/v1/scans?code=QR12345&limit=1')).json();
    expect(byCode.items).toHaveLength(1);
    const next = await (
      await t.api(`/api/v1/scans?code=QR12345&limit=1&cursor=${byCode.next_cursor}`)
    ).json();
    expect(next.items[0].id).toBeLessThan(byCode.items[0].id);
    expect((await t.api('/api/v1/scans?found=maybe')).status).toBe(400);
  });

  it('is counted into the robot’s active job: items done, last item and history', async () => {
    await post({ qr_code: 'QR-JOB-1', name: 'Box C' });
    const { c, answers } = await scanner('scan_job');
    await c.publishAsync(
      'tonypi/job/scan_job',
      JSON.stringify({ robot_id: 'scan_job', task_name: 'pack', status: 'started', items_total: 4 }),
      { qos: 1 },
    );
    await c.publishAsync(
      'tonypi/scan/scan_job',
      JSON.stringify({ robot_id: 'scan_job', qr_data: 'QR-JOB-1' }),
      { qos: 1 },
    );
    await waitFor(() => answers.length === 1 || undefined);
    const job = await waitFor(async () => {
      const body = await (await t.api('/api/v1/robots/scan_job/jobs/current')).json();
      return body.items_done === 1 ? body : undefined;
    });
    expect(job).toMatchObject({
      status: 'active',
      percent_complete: 25,
      last_item: { code: 'QR-JOB-1', found: true, name: 'Box C' },
      history: [{ code: 'QR-JOB-1', found: true, job_id: job.id }],
    });
  });
});

describe('the demo catalogue', () => {
  let demo: TestServer;
  beforeAll(async () => {
    demo = await startTestServer({ SIMULATED_ROBOTS: '1', SIMULATED_RATE_HZ: '1' });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('is seeded only with simulated robots on the embedded database, with every code they scan', async () => {
    expect((await (await t.api('/api/v1/items?q=Demo%20item')).json()).total).toBe(0);
    const body = await (await demo.api('/api/v1/items?qr_code=TP-A-0001')).json();
    expect(body.items[0]).toMatchObject({ qr_code: 'TP-A-0001', location: 'Station A' });
    expect((await (await demo.api('/api/v1/items?limit=1')).json()).total).toBe(1000);
  });
});
