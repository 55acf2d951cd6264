-- User management (issue #12 §1): a user given a temporary password must set their own at first sign-in.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- Usernames and e-mail addresses are unique whatever their case: "Admin" cannot pose as "admin". Until now
-- only the first start created a user, so no existing rows can collide.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
