import { describe, expect, it } from 'vitest';
import { isScriptable } from './database';
import type { OpenTestDatabase } from './test-databases';

/** What every `Database` engine must do alike; run by pglite-database.test.ts and the services tests. */
export function describeDatabaseContract(open: OpenTestDatabase): void {
  describe('Database', () => {
    it('answers ping', async () => {
      const db = await open({ migrated: false });
      await expect(db.ping()).resolves.toBeUndefined();
    });

    it('runs parameterised statements and reports the rows they touched', async () => {
      const db = await open({ migrated: false });
      await db.exec('CREATE TABLE t (id INT PRIMARY KEY, label TEXT); CREATE INDEX t_label ON t(label);');
      const inserted = await db.query('INSERT INTO t VALUES ($1, $2), ($3, $4)', [1, 'a', 2, 'b']);
      expect(inserted.rowCount).toBe(2);
      const selected = await db.query<{ id: number; label: string }>(
        'SELECT * FROM t WHERE id >= $1 ORDER BY id',
        [1],
      );
      expect(selected.rows).toEqual([
        { id: 1, label: 'a' },
        { id: 2, label: 'b' },
      ]);
      expect(selected.rowCount).toBe(2);
      const updated = await db.query("UPDATE t SET label = 'c' WHERE id = 9");
      expect(updated.rowCount).toBe(0);
    });

    it('returns the same JavaScript types on every engine', async () => {
      const db = await open({ migrated: false });
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT '2024-05-06T07:08:09.123Z'::timestamptz AS tstz,
                '2024-05-06 07:08:09.5'::timestamp AS ts,
                '2024-05-06'::date AS day,
                12345678901::int8 AS big,
                (SELECT count(*) FROM generate_series(1, 3)) AS counted,
                ARRAY[1, 2]::int8[] AS bigs,
                1.25::numeric AS exact,
                1.5::float8 AS float,
                7::int4 AS int,
                '{"a":[1,"x"]}'::jsonb AS doc,
                true AS flag`,
      );
      expect(rows[0]).toEqual({
        tstz: new Date('2024-05-06T07:08:09.123Z'),
        ts: new Date('2024-05-06T07:08:09.500Z'),
        day: '2024-05-06',
        big: 12345678901,
        counted: 3,
        bigs: [1, 2],
        exact: '1.25',
        float: 1.5,
        int: 7,
        doc: { a: [1, 'x'] },
        flag: true,
      });
    });

    it('takes Date, ISO strings and JSON text as parameters', async () => {
      const db = await open({ migrated: false });
      const at = new Date('2024-01-02T03:04:05.678Z');
      const { rows } = await db.query<{ a: Date; b: Date; doc: unknown }>(
        'SELECT $1::timestamptz AS a, $2::timestamptz AS b, $3::jsonb AS doc',
        [at, at.toISOString(), JSON.stringify({ list: [1, 2] })],
      );
      expect(rows[0]).toEqual({ a: at, b: at, doc: { list: [1, 2] } });
    });

    it('commits a transaction whose callback resolves', async () => {
      const db = await open({ migrated: false });
      await db.exec('CREATE TABLE t (id INT)');
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES ($1)', [1]);
        return 'done';
      });
      expect(result).toBe('done');
      expect((await db.query('SELECT * FROM t')).rowCount).toBe(1);
    });

    it('rolls back a transaction whose callback throws, and rethrows', async () => {
      const db = await open({ migrated: false });
      await db.exec('CREATE TABLE t (id INT)');
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES (1)');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await db.query('SELECT * FROM t')).rowCount).toBe(0);
      // The connection is usable afterwards.
      await expect(db.ping()).resolves.toBeUndefined();
    });

    it('runs a script inside a transaction', async () => {
      const db = await open({ migrated: false });
      await expect(
        db.transaction(async (tx) => {
          if (!isScriptable(tx)) throw new Error('transaction cannot run scripts');
          await tx.exec('CREATE TABLE t (id INT); INSERT INTO t VALUES (1);');
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      await expect(db.query('SELECT * FROM t')).rejects.toThrow(/does not exist/);
    });

    it('reports SQL errors with the PostgreSQL error code', async () => {
      const db = await open({ migrated: false });
      await db.exec('CREATE TABLE t (id INT PRIMARY KEY)');
      await db.query('INSERT INTO t VALUES (1)');
      await expect(db.query('INSERT INTO t VALUES (1)')).rejects.toMatchObject({ code: '23505' });
    });
  });
}
