-- Who changed what, when, from where, and whether it worked (issue #12 §3). Append-only: rows are never
-- updated or deleted by the application, and the trigger below refuses it from anyone else too.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    ts TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    actor_type VARCHAR(16) NOT NULL CHECK (actor_type IN ('user', 'api_key', 'robot', 'system', 'anonymous')),
    actor_id VARCHAR(64),                    -- users.id, the API key's id, a robot_id; NULL for anonymous/system
    actor_name VARCHAR(100),                 -- the username (or key name) at the time: users may be renamed or deleted
    action VARCHAR(64) NOT NULL,             -- e.g. auth.login, user.create, robot.credentials.rotate
    target_type VARCHAR(32),                 -- user, api_key, robot, settings …
    target_id VARCHAR(128),
    outcome VARCHAR(16) NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    address VARCHAR(64),
    user_agent VARCHAR(256),
    details JSONB                            -- never secrets: AuditTrail drops secret-looking keys
);

CREATE INDEX idx_audit_events_ts ON audit_events(ts DESC, id DESC);
CREATE INDEX idx_audit_events_actor ON audit_events(actor_id, ts DESC);
CREATE INDEX idx_audit_events_action ON audit_events(action, ts DESC);
CREATE INDEX idx_audit_events_target ON audit_events(target_type, target_id, ts DESC);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
