-- The message log (TT-2.2.2, TT-3.8.4, TT-6.3): one row per message that passed this
-- security server, in chain order. Binary values are base64 text (same SQL on both engines).
CREATE TABLE log_record (
    seq                  BIGINT PRIMARY KEY,   -- position in the hash chain, from 1
    time_ms              BIGINT NOT NULL,
    request_id           TEXT NOT NULL,         -- X-Road-Request-Id shared by both servers
    query_id             TEXT,                  -- the client's message id (SOAP id / X-Road-Id)
    side                 TEXT NOT NULL,         -- client | provider
    direction            TEXT NOT NULL,         -- request | response
    client               TEXT NOT NULL,
    service              TEXT NOT NULL,
    protocol             TEXT NOT NULL,         -- soap | rest
    transport_digest     TEXT NOT NULL,         -- what the signature covers
    signature            TEXT NOT NULL,         -- signature block (JSON) without certificate and OCSP response
    cert_ref             TEXT NOT NULL,         -- SHA-256 of the signing certificate (signature_part)
    ocsp_ref             TEXT,                  -- SHA-256 of the stapled OCSP response (signature_part)
    signature_xml_sha256 TEXT NOT NULL,         -- leaf of the time-stamp hash tree
    key_id               TEXT NOT NULL,         -- participant key that encrypted the contents
    nonce                TEXT NOT NULL,
    ciphertext           TEXT NOT NULL,         -- AES-256-GCM of metadata, message and body
    prev_hash            TEXT NOT NULL,
    record_hash          TEXT NOT NULL,
    archive              BIGINT NOT NULL,      -- 1: goes to the archive
    retention_days       BIGINT NOT NULL,
    ts_batch             BIGINT,               -- time-stamp that covers it
    archived             BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX log_record_query ON log_record (query_id);
CREATE INDEX log_record_batch ON log_record (ts_batch, seq);

-- certificates and OCSP responses, stored once: the same ones sign thousands of records
CREATE TABLE signature_part (
    sha256 TEXT PRIMARY KEY,
    data   TEXT NOT NULL                        -- base64, as in the signature block
);

CREATE TABLE ts_batch (
    id       BIGINT PRIMARY KEY,
    time_ms  BIGINT NOT NULL,
    root     TEXT NOT NULL,                     -- root of the tree over signature_xml_sha256
    token    TEXT NOT NULL                      -- RFC 3161 token (DER, base64)
);

CREATE TABLE archive_state (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq    BIGINT NOT NULL,               -- last record put in an archive file
    last_digest TEXT,                           -- linking digest of the last archive
    last_file   TEXT
);
INSERT INTO archive_state (id, last_seq) VALUES (1, 0);

-- every read of the log's contents (TT-3.8.4): who, what, when, and whether it was allowed
CREATE TABLE archive_read (
    id       BIGSERIAL PRIMARY KEY,
    time_ms  BIGINT NOT NULL,
    reader   TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  TEXT NOT NULL
);

-- operational monitoring records (TT-2.6): metadata only, never contents
CREATE TABLE op_record (
    record_id BIGINT PRIMARY KEY,
    time_ms   BIGINT NOT NULL,
    record    TEXT NOT NULL
);
CREATE INDEX op_record_time ON op_record (time_ms);

-- archive files written, for the cleaner (TT-3.8.4)
CREATE TABLE archive_file (
    name       TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    first_seq  BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,               -- when every record in it has passed its retention
    digest     TEXT NOT NULL                   -- its last linking digest
);
