-- Notification channels and their delivery log (issue #7 §1).
--
-- A channel is a webhook or an email (SMTP) destination with the alert severities and changes it wants.
-- `settings` holds what may be shown (URL, SMTP host, port, security, user, sender, recipients);
-- `secrets` holds what may not (the webhook's signing secret and header values, the SMTP password),
-- encrypted with AES-256-GCM under the server's notification key (NOTIFICATION_SECRET_KEY, or
-- DATA_DIR/secrets/notification-key): a copy of the database alone does not reveal them.
CREATE TABLE notification_channels (
    id SERIAL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('webhook', 'email')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    severities JSONB NOT NULL,
    changes JSONB NOT NULL,
    settings JSONB NOT NULL,
    secrets TEXT,                            -- v1:<iv>:<tag>:<ciphertext> (base64url), NULL: none
    created_by VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per notification (an alert change for a channel, or a test send), updated after each attempt.
-- alert_id is not a foreign key: the log outlives a deleted alert.
CREATE TABLE notification_deliveries (
    id BIGSERIAL PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    delivery_key UUID NOT NULL,              -- X-TonyPi-Delivery: the same for every attempt
    alert_id INTEGER,
    change VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL CHECK (status IN ('sent', 'retrying', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    response_code INTEGER,
    response TEXT,
    error TEXT,
    duration_ms INTEGER,
    next_attempt_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_notification_deliveries_channel ON notification_deliveries (channel_id, id DESC);
