-- Commands to robots and emergency stops (issue #7 §3).
--
-- One row per command per robot: pending (stored) → sent (published) → acknowledged (the robot accepted it)
-- → succeeded | failed; timed_out when no result came by deadline_at; rejected when it could not be sent
-- (the robot offline and not queued, or its queue time-to-live ran out). An emergency stop or resume of the
-- fleet is one row per robot under one batch_id. Transitions are conditional updates on the current status,
-- so two server instances (or a late answer racing the time-out) cannot move a row backwards.
CREATE TABLE commands (
    id VARCHAR(64) PRIMARY KEY,
    robot_id VARCHAR(64) NOT NULL,
    command VARCHAR(32) NOT NULL,
    params JSONB NOT NULL DEFAULT '{}'::jsonb,
    status VARCHAR(16) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'acknowledged', 'succeeded', 'failed', 'timed_out', 'rejected')),
    message TEXT,
    result JSONB,
    timeout_s DOUBLE PRECISION NOT NULL,
    -- Queued for an offline robot: sent when it comes back before this time, else rejected.
    queue_until TIMESTAMP WITH TIME ZONE,
    -- When the row times out (or, queued, is rejected) unless an answer finishes it first.
    deadline_at TIMESTAMP WITH TIME ZONE,
    batch_id VARCHAR(64),                     -- an emergency stop / resume: one id for all its robots
    requested_by VARCHAR(100),                -- the username (or API key name) at the time
    requested_by_id VARCHAR(64),              -- users.id / the API key's id
    idempotency_key VARCHAR(200),
    request_hash VARCHAR(64),                 -- of the request body: a reused key with another body is refused
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    sent_at TIMESTAMP WITH TIME ZONE,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    finished_at TIMESTAMP WITH TIME ZONE
);
CREATE INDEX idx_commands_robot_created ON commands(robot_id, created_at DESC, id DESC);
CREATE INDEX idx_commands_batch ON commands(batch_id) WHERE batch_id IS NOT NULL;
-- The time-out sweep reads only unfinished rows.
CREATE INDEX idx_commands_open_deadline ON commands(deadline_at)
    WHERE status IN ('pending', 'sent', 'acknowledged');
CREATE UNIQUE INDEX uq_commands_idempotency ON commands(requested_by_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
