-- How a robot came to be known. A robot that registers itself on first contact (AUTO_REGISTER_ROBOTS) is
-- 'pending' until it has kept talking for ROBOT_CONFIRM_AFTER_S (robot credentials will add claiming it);
-- robots known before this migration were accepted under the earlier rules and are 'active'.
ALTER TABLE robots ADD COLUMN registration VARCHAR(16) NOT NULL DEFAULT 'active'
    CHECK (registration IN ('pending', 'active'));

CREATE INDEX idx_robots_registration ON robots(registration);
