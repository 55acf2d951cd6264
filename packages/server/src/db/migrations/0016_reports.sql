-- Reports (issue #10) on the seed's `reports` table (0001): its columns stay (report_type is the kind, data the
-- finished document), and it grows what background generation needs — the scope and period asked for, the
-- sections, the status with progress and error, who asked, when it ran, and what an AI provider added.
ALTER TABLE reports ADD COLUMN tag VARCHAR(50);
ALTER TABLE reports ADD COLUMN from_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE reports ADD COLUMN to_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE reports ADD COLUMN sections JSONB NOT NULL DEFAULT '[]';
ALTER TABLE reports ADD COLUMN want_ai BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE reports ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'completed'
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled'));
ALTER TABLE reports ADD COLUMN progress REAL NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN error TEXT;
ALTER TABLE reports ADD COLUMN started_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE reports ADD COLUMN finished_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE reports ADD COLUMN ai_model VARCHAR(100);
ALTER TABLE reports ADD COLUMN tokens_in INTEGER;
ALTER TABLE reports ADD COLUMN tokens_out INTEGER;
-- Which server instance runs it: a queued report is claimed by one (UPDATE … WHERE status = 'queued').
ALTER TABLE reports ADD COLUMN claimed_by VARCHAR(64);
UPDATE reports SET from_at = COALESCE(created_at, CURRENT_TIMESTAMP), to_at = COALESCE(created_at, CURRENT_TIMESTAMP),
    finished_at = created_at WHERE from_at IS NULL;
ALTER TABLE reports ALTER COLUMN from_at SET NOT NULL;
ALTER TABLE reports ALTER COLUMN to_at SET NOT NULL;
ALTER TABLE reports ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX idx_reports_status ON reports (status, created_at) WHERE status IN ('queued', 'running');
