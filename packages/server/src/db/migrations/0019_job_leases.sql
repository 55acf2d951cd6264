-- Leases for the periodic jobs several server instances share (issue #9 §3): telemetry roll-ups and retention
-- on a shared store, the logs' and snapshots' retention. A job runs on the instance that holds its lease; the
-- lease is taken or renewed with one conditional upsert, and lapses when its holder stops renewing it (a crash).
CREATE TABLE job_leases (
    name VARCHAR(64) PRIMARY KEY,
    holder VARCHAR(100) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    acquired_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
