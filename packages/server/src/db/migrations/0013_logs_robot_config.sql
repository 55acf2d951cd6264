-- The server's log (issue #7 §5) and robots' configurations (issue #7 §3).
--
-- system_logs (0001) grows a level rank, so "WARNING or worse" is a range on an integer, and a source (which
-- part of the robot or server wrote the entry). Reads are newest first with a keyset cursor on
-- (timestamp, id): the indexes below end in those two, descending, so a page of the whole log, of one robot or of
-- one category is an index range scan. (The seed's single-column indexes of 0001 stay: the seed's schema is kept.)
-- Timestamps are kept at millisecond precision, the precision of the API's times and of the cursor.
ALTER TABLE system_logs ADD COLUMN level_rank SMALLINT NOT NULL DEFAULT 20;
ALTER TABLE system_logs ADD COLUMN source VARCHAR(100);
UPDATE system_logs SET
    level_rank = CASE upper(level)
        WHEN 'DEBUG' THEN 10 WHEN 'INFO' THEN 20 WHEN 'WARNING' THEN 30 WHEN 'ERROR' THEN 40 WHEN 'CRITICAL' THEN 50
        ELSE 20 END,
    timestamp = date_trunc('milliseconds', COALESCE(timestamp, CURRENT_TIMESTAMP));
ALTER TABLE system_logs ALTER COLUMN timestamp SET DEFAULT date_trunc('milliseconds', CURRENT_TIMESTAMP);
ALTER TABLE system_logs ALTER COLUMN timestamp SET NOT NULL;

CREATE INDEX idx_system_logs_time ON system_logs (timestamp DESC, id DESC);
CREATE INDEX idx_system_logs_robot_time ON system_logs (robot_id, timestamp DESC, id DESC);
CREATE INDEX idx_system_logs_category_time ON system_logs (category, timestamp DESC, id DESC);

-- One row per version of a robot's configuration: the current one is the highest version. The primary key
-- makes two concurrent changes based on the same version conflict (the second insert fails).
CREATE TABLE robot_configs (
    robot_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    config JSONB NOT NULL,
    changed_by VARCHAR(100),
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (robot_id, version)
);
