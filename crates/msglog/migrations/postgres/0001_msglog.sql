-- The message log (TT-2.2.2, TT-3.8.4, TT-6.3): one index row per message that passed this
-- security server, in chain order. The records themselves (hashed fields, signature,
-- encrypted contents) are frames in segment files beside the database (src/segment.rs);
-- these columns repeat what queries, time-stamping, archiving and cleaning need, and every
-- read checks them against the frame. Binary values are base64 text.
CREATE TABLE log_record (
    seq                  BIGINT PRIMARY KEY,   -- position in the hash chain, from 1
    time_ms              BIGINT NOT NULL,
    query_id             TEXT,                  -- the client's message id (SOAP id / X-Road-Id)
    signature_xml_sha256 TEXT NOT NULL,         -- leaf of the time-stamp hash tree
    record_hash          TEXT NOT NULL,
    archive              BIGINT NOT NULL,      -- 1: goes to the archive
    retention_days       BIGINT NOT NULL,
    segment              BIGINT NOT NULL,      -- segment file number
    frame_offset         BIGINT NOT NULL,      -- where the record's frame starts in it
    frame_len            BIGINT NOT NULL,
    ts_batch             BIGINT,               -- time-stamp that covers it
    archived             BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX log_record_query ON log_record (query_id);
CREATE INDEX log_record_batch ON log_record (ts_batch, seq);

-- the id naming this database's directory of segment files
CREATE TABLE segment_store (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    log_id TEXT NOT NULL
);

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
