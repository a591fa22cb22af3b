-- TT-4.1.2, issue 13 item 5: a registration request must carry the single-use enrolment code
-- the operator issued for that security server id, so that nobody else can register a
-- member's server with keys of their own. Only the code's SHA-256 (hex) is kept; a fresh code
-- replaces the row (and so invalidates the old one).
CREATE TABLE enrolment_codes (
    server_id     TEXT PRIMARY KEY,          -- INSTANCE/CLASS/CODE/SERVER
    code_sha256   TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,                    -- set when a registration request consumed it
    used_by       TEXT                       -- that registration request's id
);
