-- Alert rules, the alert engine's alerts and silences (issue #7 §1).
--
-- Rules replace the seed's alert_thresholds: any numeric field of any measurement, optionally one series
-- (a tag filter such as {"servo_id": "3"}), above or below, warning and critical levels, a clear level
-- for hysteresis, a sustained-for duration. A robot's rule overrides the global rule of the same
-- measurement, field and tag filter; a disabled rule is disabled (it never falls back to a default).
CREATE TABLE alert_rules (
    id SERIAL PRIMARY KEY,
    robot_id VARCHAR(64),                    -- NULL: a global rule
    name VARCHAR(100) NOT NULL,
    measurement VARCHAR(64) NOT NULL,
    field VARCHAR(64) NOT NULL,
    tag_filter JSONB NOT NULL DEFAULT '{}'::jsonb,
    direction VARCHAR(5) NOT NULL CHECK (direction IN ('above', 'below')),
    warning_level DOUBLE PRECISION,
    critical_level DOUBLE PRECISION,
    clear_level DOUBLE PRECISION,            -- NULL: the warning level (or the critical one) clears
    sustained_s INTEGER NOT NULL DEFAULT 0 CHECK (sustained_s >= 0),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE, -- one of the seed defaults (reset-defaults restores them)
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by VARCHAR(100),
    CHECK (warning_level IS NOT NULL OR critical_level IS NOT NULL)
);
CREATE UNIQUE INDEX uq_alert_rules_scope ON alert_rules ((COALESCE(robot_id, '')), measurement, field, tag_filter);
CREATE INDEX idx_alert_rules_robot_id ON alert_rules(robot_id);

-- The alerts table of the seed, grown: state (open → acknowledged → resolved), the rule that raised it,
-- muted (raised during a silence), who resolved it, a note with the acknowledgement, and updated_at (an
-- open alert is escalated and updated in place).
ALTER TABLE alerts ADD COLUMN rule_id INTEGER REFERENCES alert_rules(id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'open'
    CHECK (state IN ('open', 'acknowledged', 'resolved'));
ALTER TABLE alerts ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE alerts ADD COLUMN acknowledge_note TEXT;
ALTER TABLE alerts ADD COLUMN resolved_by VARCHAR(100);
ALTER TABLE alerts ADD COLUMN updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP;
-- The engine's dedup key: a rule's alerts are keyed by rule id, the others (robot_offline, emergency_stop,
-- robot_error, job_failed) by type. Set by the writer, kept after a rule is deleted.
ALTER TABLE alerts ADD COLUMN dedup_key VARCHAR(200);
UPDATE alerts SET state = CASE WHEN resolved THEN 'resolved' WHEN acknowledged THEN 'acknowledged' ELSE 'open' END;

-- One unresolved alert per robot + key + source, enforced by the database: two server instances cannot
-- duplicate it either (the writer upserts on this index).
CREATE UNIQUE INDEX uq_alerts_unresolved ON alerts ((COALESCE(robot_id, '')), dedup_key, (COALESCE(source, '')))
    WHERE state <> 'resolved' AND dedup_key IS NOT NULL;
-- The list's common shapes: newest first, by robot, by state.
CREATE INDEX idx_alerts_created_id ON alerts (created_at DESC, id DESC);
CREATE INDEX idx_alerts_robot_created ON alerts (robot_id, created_at DESC, id DESC);
CREATE INDEX idx_alerts_state_created ON alerts (state, created_at DESC, id DESC);
CREATE INDEX idx_alerts_rule_id ON alerts (rule_id);

-- Silences / maintenance windows: alerts raised for the scope while one is active are recorded, flagged
-- muted, and not notified. Scope: a robot, a rule, both, or neither (the whole fleet).
CREATE TABLE alert_silences (
    id SERIAL PRIMARY KEY,
    robot_id VARCHAR(64),
    rule_id INTEGER REFERENCES alert_rules(id) ON DELETE CASCADE,
    starts_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ends_at TIMESTAMP WITH TIME ZONE NOT NULL,
    reason TEXT NOT NULL,
    created_by VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK (ends_at > starts_at)
);
CREATE INDEX idx_alert_silences_ends_at ON alert_silences(ends_at);
