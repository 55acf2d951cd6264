-- The seed's alert_thresholds carried over into alert_rules, once (issue #7 §1). The five metric types map onto
-- the built-in rules' scopes (see alerts/alert-rules.ts): a fleet row whose levels or enabled flag differ from
-- the seed's defaults becomes the fleet rule of that scope (still a default: reset-defaults sets it back), and
-- every robot's row becomes that robot's override. The server adds the built-in rules still missing at start.
-- Levels are put in order for the direction (the old table did not check them); clear levels are left null
-- (= the warning level), sustained-for 0, as the original behaved. Other metric types have no rule to map to.
INSERT INTO alert_rules (robot_id, name, measurement, field, tag_filter, direction, warning_level, critical_level,
                         enabled, is_default, updated_by)
SELECT t.robot_id, m.name, m.measurement, m.field, '{}'::jsonb, m.direction,
       CASE WHEN m.direction = 'above' THEN LEAST(t.warning_threshold, t.critical_threshold)
            ELSE GREATEST(t.warning_threshold, t.critical_threshold) END,
       CASE WHEN m.direction = 'above' THEN GREATEST(t.warning_threshold, t.critical_threshold)
            ELSE LEAST(t.warning_threshold, t.critical_threshold) END,
       COALESCE(t.enabled, TRUE), t.robot_id IS NULL, 'migration 0008'
FROM alert_thresholds t
JOIN (VALUES
    ('cpu', 'CPU usage', 'system', 'cpu_percent', 'above', 70.0, 90.0),
    ('memory', 'Memory usage', 'system', 'memory_percent', 'above', 75.0, 90.0),
    ('temperature', 'CPU temperature', 'system', 'cpu_temperature_c', 'above', 70.0, 80.0),
    ('battery', 'Battery low', 'battery', 'percent', 'below', 20.0, 10.0),
    ('servo_temp', 'Servo temperature', 'servos', 'temperature_c', 'above', 60.0, 75.0)
) AS m(metric_type, name, measurement, field, direction, seed_warning, seed_critical)
  ON m.metric_type = t.metric_type
WHERE t.robot_id IS NOT NULL
   OR t.warning_threshold <> m.seed_warning
   OR t.critical_threshold <> m.seed_critical
   OR t.enabled IS FALSE
ON CONFLICT ((COALESCE(robot_id, '')), measurement, field, tag_filter) DO NOTHING;
