import { describe, expect, it } from 'vitest';
import { AlertThresholdsRepository } from './alert-thresholds.repository';
import type { OpenTestDatabase } from './test-databases';

export function describeAlertThresholdsRepositoryContract(open: OpenTestDatabase): void {
  describe('AlertThresholdsRepository', () => {
    it('lists the global defaults by metric', async () => {
      const repo = new AlertThresholdsRepository(await open());
      const rows = await repo.listGlobal();
      expect(rows.map((r) => r.metric_type)).toEqual([
        'battery',
        'cpu',
        'memory',
        'servo_temp',
        'temperature',
      ]);
      expect(rows[1]).toMatchObject({
        robot_id: null,
        warning_threshold: 70,
        critical_threshold: 90,
        enabled: true,
      });
      expect(rows[1]?.created_at).toBeInstanceOf(Date);
    });

    it("lists only a robot's own thresholds", async () => {
      const db = await open();
      await db.query(
        `INSERT INTO alert_thresholds (robot_id, metric_type, warning_threshold, critical_threshold)
         VALUES ('tonypi_01', 'cpu', 50, 60), ('tonypi_02', 'cpu', 55, 65)`,
      );
      const repo = new AlertThresholdsRepository(db);
      const rows = await repo.listForRobot('tonypi_01');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ robot_id: 'tonypi_01', metric_type: 'cpu', warning_threshold: 50 });
      expect(await repo.listForRobot('tonypi_03')).toEqual([]);
    });

    it('refuses a second threshold for the same robot and metric', async () => {
      const db = await open();
      await expect(
        db.query(
          `INSERT INTO alert_thresholds (robot_id, metric_type, warning_threshold, critical_threshold)
           VALUES (NULL, 'cpu', 1, 2)`,
        ),
      ).rejects.toMatchObject({ code: '23505' });
    });
  });
}
