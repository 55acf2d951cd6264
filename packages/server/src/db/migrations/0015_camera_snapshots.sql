-- Camera snapshots kept with a robot's timeline (issue #11 §2): the JPEG itself (at most 2 MB, the proxy's frame
-- limit), who took it and when, and optionally the alert it documents or a note for a report. A robot's list is
-- read newest first with a keyset cursor on (taken_at, id): the index ends in those two, descending.
-- (0014 is the SSH terminal's migration.)
CREATE TABLE camera_snapshots (
    id SERIAL PRIMARY KEY,
    robot_id VARCHAR(64) NOT NULL REFERENCES robots (robot_id) ON DELETE CASCADE,
    taken_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT date_trunc('milliseconds', CURRENT_TIMESTAMP),
    taken_by VARCHAR(36) REFERENCES users (id) ON DELETE SET NULL,
    taken_by_name VARCHAR(100),
    bytes BYTEA NOT NULL,
    width INTEGER,
    height INTEGER,
    size INTEGER NOT NULL CHECK (size > 0 AND size <= 2097152),
    alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
    note TEXT
);
CREATE INDEX idx_camera_snapshots_robot_time ON camera_snapshots (robot_id, taken_at DESC, id DESC);
