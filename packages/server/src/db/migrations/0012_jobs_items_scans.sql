-- Jobs, the item catalogue and scan events (issue #7 §2 and §4).
--
-- The jobs table of 0001 grows the columns of the original's job store (task_name, phase, success,
-- cancel_reason, estimated/action duration) plus what it lacked: the robot's own job id (job_key), the
-- duration, how the job was opened (a start message, or first seen in progress / at its end, e.g. after a
-- server restart) and which job superseded it. A job that a newer one replaces is closed explicitly
-- (status cancelled, cancel_reason 'superseded', superseded_by), never silently marked completed.
UPDATE jobs SET status = 'active' WHERE status IS NULL;
UPDATE jobs SET items_done = 0 WHERE items_done IS NULL;
ALTER TABLE jobs
    ALTER COLUMN status SET NOT NULL,
    ALTER COLUMN items_done SET NOT NULL,
    ADD COLUMN job_key VARCHAR(64),             -- the robot's job id (canonical job_id), when it sends one
    ADD COLUMN task_name VARCHAR(200),
    ADD COLUMN phase VARCHAR(100),
    ADD COLUMN success BOOLEAN,
    ADD COLUMN cancel_reason VARCHAR(500),      -- why it was cancelled or failed ('superseded': a newer job)
    ADD COLUMN estimated_duration_s DOUBLE PRECISION,
    ADD COLUMN action_duration_s DOUBLE PRECISION,
    ADD COLUMN duration_s DOUBLE PRECISION,     -- end_time - start_time, set when the job ends
    ADD COLUMN opened_by VARCHAR(16) NOT NULL DEFAULT 'start' CHECK (opened_by IN ('start', 'progress', 'end')),
    ADD COLUMN superseded_by INTEGER,
    ADD CONSTRAINT jobs_status_check CHECK (status IN ('active', 'completed', 'failed', 'cancelled'));
-- At most one active job per robot: the job recorder closes the old one before opening the next. Rows
-- written before this migration may break the rule: all but each robot's newest active job are closed.
UPDATE jobs SET status = 'cancelled', cancel_reason = 'superseded', end_time = COALESCE(end_time, CURRENT_TIMESTAMP)
    WHERE status = 'active'
      AND id NOT IN (SELECT MAX(id) FROM jobs WHERE status = 'active' GROUP BY robot_id);
CREATE UNIQUE INDEX uq_jobs_active_robot ON jobs(robot_id) WHERE status = 'active';
CREATE INDEX idx_jobs_robot_key ON jobs(robot_id, job_key);
CREATE INDEX idx_jobs_start_id ON jobs(start_time DESC, id DESC);

-- The item catalogue the scans are looked up in (the original had three hard-coded items).
CREATE TABLE items (
    id SERIAL PRIMARY KEY,
    qr_code VARCHAR(512) UNIQUE NOT NULL,       -- what the robot reads; the scan's code
    sku VARCHAR(100),
    name VARCHAR(200) NOT NULL,
    description TEXT,
    weight_kg DOUBLE PRECISION CHECK (weight_kg >= 0),
    location VARCHAR(200),
    attributes JSONB NOT NULL DEFAULT '{}'::jsonb, -- free key/values, bounded by the API
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_items_sku ON items(sku);
CREATE INDEX idx_items_location ON items(location);

-- Every scan a robot reported: what it read, whether the catalogue knew it, where, and the job it was
-- counted into (NULL: no job was active). A job's item history is its scans, so it survives a restart.
-- item_id is not a foreign key: deleting an item keeps the history of its scans.
CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    robot_id VARCHAR(64) NOT NULL,
    code VARCHAR(512) NOT NULL,
    found BOOLEAN NOT NULL,
    item_id INTEGER,
    station_name VARCHAR(100),
    action VARCHAR(100),
    job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    scanned_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_scans_robot_time ON scans(robot_id, scanned_at DESC);
CREATE INDEX idx_scans_job_id ON scans(job_id);
CREATE INDEX idx_scans_code ON scans(code);
CREATE INDEX idx_scans_scanned_at ON scans(scanned_at DESC);
