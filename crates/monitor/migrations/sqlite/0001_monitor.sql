-- Operational records collected from security servers (TT-2.6): metadata only.
CREATE TABLE op_record (
    server        TEXT NOT NULL,     -- the station's name for the security server
    record_id     INTEGER NOT NULL,  -- the server's sequence number
    time_ms       INTEGER NOT NULL,  -- response out
    server_type   TEXT NOT NULL,     -- Client | Producer
    client        TEXT,
    service       TEXT,
    succeeded     INTEGER NOT NULL,
    fault_code    TEXT,
    duration_ms   INTEGER NOT NULL,
    request_size  INTEGER NOT NULL,
    response_size INTEGER NOT NULL,
    PRIMARY KEY (server, record_id)
);
CREATE INDEX op_record_time ON op_record (time_ms);
