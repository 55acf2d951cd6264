-- People's sessions and API keys on the server (issue #12 §1): a logout, a password change or a disabled
-- account ends a session at once, not when its token expires.

CREATE TABLE sessions (
    id VARCHAR(36) PRIMARY KEY,              -- the token's sid claim (random UUID)
    user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE,   -- written at most once a minute, not per request
    address VARCHAR(64),
    user_agent VARCHAR(256),
    ended_at TIMESTAMP WITH TIME ZONE,
    -- logout; password_changed (the user's other sessions); revoked (an admin's change: role, password
    -- reset); user_disabled; user_deleted
    end_reason VARCHAR(32) CHECK (end_reason IN ('logout', 'password_changed', 'revoked', 'user_disabled', 'user_deleted')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);

CREATE INDEX idx_sessions_user_open ON sessions(user_id) WHERE ended_at IS NULL;
CREATE INDEX idx_sessions_expires ON sessions(expires_at);

CREATE TABLE api_keys (
    id VARCHAR(32) PRIMARY KEY,              -- the key's public part: tpk_{id}_{secret}
    name VARCHAR(100) NOT NULL,
    role VARCHAR(20) NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    secret_hash VARCHAR(64) NOT NULL,        -- HMAC-SHA256 (hex) of the secret part; the key itself is never stored
    -- NULL once the creator is deleted; such a key no longer works (nor one whose creator is disabled)
    created_by VARCHAR(36) REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP WITH TIME ZONE,     -- NULL: no expiry
    last_used_at TIMESTAMP WITH TIME ZONE,   -- written at most once a minute
    revoked_at TIMESTAMP WITH TIME ZONE,
    revoked_by VARCHAR(36)
);

CREATE INDEX idx_api_keys_created_at ON api_keys(created_at DESC);
