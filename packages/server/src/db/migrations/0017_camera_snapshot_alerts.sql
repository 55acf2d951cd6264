-- The alert list shows the snapshots kept for the alerts on screen (one query per page, by alert id), and
-- retention deletes by age: both need an index the robot/time one does not give.
CREATE INDEX idx_camera_snapshots_alert ON camera_snapshots (alert_id, taken_at DESC) WHERE alert_id IS NOT NULL;
CREATE INDEX idx_camera_snapshots_taken_at ON camera_snapshots (taken_at);
