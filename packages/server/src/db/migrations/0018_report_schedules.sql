-- Report schedules (issue #10 §5): a report of one scope every day, week or month at a time of day (the
-- server's time zone) for the calendar period that just ended. `next_run_at` is moved on by whichever server
-- instance runs it (UPDATE … WHERE next_run_at = the value it read), in the same transaction as the report's
-- insert; the unique index on (schedule_id, from_at) makes a second run of one period impossible even so.
CREATE TABLE report_schedules (
    id SERIAL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    report_type VARCHAR(32) NOT NULL,
    robot_id VARCHAR(64),
    tag VARCHAR(50),
    sections JSONB NOT NULL DEFAULT '[]',
    want_ai BOOLEAN NOT NULL DEFAULT FALSE,
    frequency VARCHAR(8) NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
    at_minute INTEGER NOT NULL CHECK (at_minute >= 0 AND at_minute < 1440),
    weekday INTEGER NOT NULL DEFAULT 1 CHECK (weekday BETWEEN 0 AND 6),
    day_of_month INTEGER NOT NULL DEFAULT 1 CHECK (day_of_month BETWEEN 1 AND 28),
    channel_ids JSONB NOT NULL DEFAULT '[]',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at TIMESTAMP WITH TIME ZONE,
    last_run_at TIMESTAMP WITH TIME ZONE,
    last_report_id INTEGER REFERENCES reports (id) ON DELETE SET NULL,
    created_by VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_report_schedules_due ON report_schedules (next_run_at) WHERE enabled;

ALTER TABLE reports ADD COLUMN schedule_id INTEGER REFERENCES report_schedules (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX idx_reports_schedule_period ON reports (schedule_id, from_at) WHERE schedule_id IS NOT NULL;
