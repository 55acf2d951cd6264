-- Robots and their credentials (issue #12 §2). A robot registered (or claimed) by an admin gets an MQTT secret;
-- only its keyed hash is kept: HMAC-SHA256 under the server's robot-secret key (DATA_DIR/secrets or
-- ROBOT_SECRET_KEY) of "robot_id:secret", hex. One row per robot; rotation replaces the hash.
CREATE TABLE robot_credentials (
    robot_id VARCHAR(64) PRIMARY KEY REFERENCES robots(robot_id) ON DELETE CASCADE,
    secret_hash CHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    rotated_at TIMESTAMP WITH TIME ZONE
);

-- Tags group robots (?tag=); soft delete keeps a robot's history: deleted_at set, is_active false.
ALTER TABLE robots ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE robots ADD COLUMN deleted_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX idx_robots_tags ON robots USING GIN (tags);

-- Per-robot activity for GET /robots/{id}/stats, by the hour: accepted messages and the last one per channel,
-- and (channel '') the time the robot was online. Written by the server in batches, a few times a minute.
CREATE TABLE robot_activity (
    robot_id VARCHAR(64) NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    channel VARCHAR(32) NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    online_ms BIGINT NOT NULL DEFAULT 0,
    last_seen TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (robot_id, hour, channel)
);
