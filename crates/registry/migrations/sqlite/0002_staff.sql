-- The operator's staff who decide registry applications in the back office: a password
-- (Argon2id, PHC string) and a one-time-code secret (TOTP, RFC 6238); the last accepted
-- code step (a code is accepted once) and failed attempts (locked for a while after five).
CREATE TABLE staff (
    login TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    last_totp_step INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0
);
