-- The SSH terminal to a robot (issue #11 §1).
--
-- robot_ssh_settings: how to reach one robot's SSH server. The password and the private key are sealed
-- (AES-256-GCM under SECRETS_KEY, `v1:<iv>:<tag>:<ciphertext>`) in one column: the database never holds them in
-- clear. The host key is pinned on the first connection (trust on first use) and compared on every later one.
CREATE TABLE robot_ssh_settings (
    robot_id VARCHAR(64) PRIMARY KEY REFERENCES robots(robot_id) ON DELETE CASCADE,
    host VARCHAR(253),
    port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
    username VARCHAR(64) NOT NULL,
    secrets_sealed TEXT NOT NULL,
    has_password BOOLEAN NOT NULL DEFAULT FALSE,
    private_key_type VARCHAR(32),
    transcript BOOLEAN NOT NULL DEFAULT FALSE,
    host_key_type VARCHAR(64),
    host_key_sha256 VARCHAR(64),
    host_key_pinned_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by VARCHAR(100)
);

-- One row per terminal session: who, which robot, from where, when, how much each way, how it ended; the
-- transcript (what the terminal showed, capped) only when the robot's settings ask for it.
CREATE TABLE ssh_sessions (
    id VARCHAR(36) PRIMARY KEY,
    robot_id VARCHAR(64) NOT NULL,
    user_id VARCHAR(36),
    username VARCHAR(50),
    remote_addr VARCHAR(64),
    host VARCHAR(260) NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ended_at TIMESTAMP WITH TIME ZONE,
    bytes_in BIGINT NOT NULL DEFAULT 0,
    bytes_out BIGINT NOT NULL DEFAULT 0,
    end_reason VARCHAR(32),
    error_code VARCHAR(32),
    transcript BYTEA
);
CREATE INDEX idx_ssh_sessions_robot_started ON ssh_sessions (robot_id, started_at DESC);
CREATE INDEX idx_ssh_sessions_open ON ssh_sessions (started_at) WHERE ended_at IS NULL;
