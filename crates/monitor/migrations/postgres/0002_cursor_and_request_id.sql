-- The poll cursor of each security server, kept apart from the records so that it survives
-- any clean-up of old records; and X-Road's xRequestId, which both sides of one exchange
-- share, so that an exchange watched on both its servers is counted once.
CREATE TABLE poll_cursor (
    server      TEXT PRIMARY KEY,  -- the station's name for the security server
    server_id   TEXT,              -- INSTANCE/CLASS/CODE/SERVER that answered under that name
    after_id    BIGINT NOT NULL,   -- the last record id stored
    updated_ms  BIGINT NOT NULL    -- when it last moved (ms since the Unix epoch)
);
INSERT INTO poll_cursor (server, server_id, after_id, updated_ms)
    SELECT server, NULL, MAX(record_id), 0 FROM op_record GROUP BY server;

ALTER TABLE op_record ADD COLUMN x_request_id TEXT;
CREATE INDEX op_record_request ON op_record (x_request_id);
