import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../db/migrate';
import { openTestPGlite } from '../db/test-databases';
import { AlertRulesRepository } from './alert-rules.repository';

describe('migration 0008: the old alert_thresholds become alert rules once', () => {
  it('carries custom fleet rows and every robot row over, leaves seed rows to the defaults, and orders inverted levels', async () => {
    // A database as 0007 left it: the seed's thresholds, no rules yet (0008 runs once, on the first start after).
    const db = await openTestPGlite();
    const carryOver = (await loadMigrations()).find((m) => m.version === 8)!;
    expect(carryOver.name).toBe('0008_alert_rules_from_thresholds');
    await db.exec(`
      DELETE FROM alert_rules;
      UPDATE alert_thresholds SET warning_threshold = 80, critical_threshold = 95 WHERE metric_type = 'cpu';
      UPDATE alert_thresholds SET enabled = FALSE WHERE metric_type = 'memory';
      INSERT INTO alert_thresholds (robot_id, metric_type, warning_threshold, critical_threshold, enabled) VALUES
        ('tonypi_07', 'battery', 10, 30, TRUE),
        ('tonypi_07', 'servo_temp', 65, 80, FALSE),
        ('tonypi_07', 'disk', 80, 90, TRUE);
    `);
    await db.exec(carryOver.sql);
    const repo = new AlertRulesRepository(db);
    await repo.insertMissingDefaults();
    const rows = await repo.listRules();
    const shown = rows.map(
      (r) =>
        `${r.robot_id ?? '*'} ${r.measurement}.${r.field} ${r.direction} ${r.warning_level}/${r.critical_level}` +
        `${r.enabled ? '' : ' disabled'}${r.is_default ? ' default' : ''}`,
    );
    expect(shown.sort()).toEqual(
      [
        '* system.cpu_percent above 80/95 default',
        '* system.memory_percent above 75/90 disabled default',
        '* system.cpu_temperature_c above 70/80 default',
        '* battery.percent below 20/10 default',
        '* servos.temperature_c above 60/75 default',
        '* servos.voltage_v below 5.9/5.6 default',
        // Inverted for "below" in the old table: put in order.
        'tonypi_07 battery.percent below 30/10',
        'tonypi_07 servos.temperature_c above 65/80 disabled',
      ].sort(),
    );
  });
});
