-- The central server's registry (TT-3.1, TT-4.1.2, P-4.1.8): members, subsystems, security
-- servers, global groups, registration requests and published configuration generations.
CREATE TABLE members (
    id            TEXT PRIMARY KEY,          -- INSTANCE/CLASS/CODE
    name          TEXT NOT NULL,
    tax_id        TEXT NOT NULL,             -- VÖEN
    legal_status  TEXT NOT NULL,             -- central-executive | local-executive | municipality | other
    state         TEXT NOT NULL DEFAULT 'active', -- active | blocked | disconnected
    state_reason  TEXT,
    created_at    BIGINT NOT NULL
);
CREATE TABLE subsystems (
    member_id     TEXT NOT NULL REFERENCES members(id),
    code          TEXT NOT NULL,
    PRIMARY KEY (member_id, code)
);
CREATE TABLE security_servers (
    id                TEXT PRIMARY KEY,      -- INSTANCE/CLASS/CODE/SERVER
    owner_id          TEXT NOT NULL REFERENCES members(id),
    environment       TEXT NOT NULL,         -- production | test (TT-3.8 test environment)
    address           TEXT NOT NULL,         -- host:port for other security servers
    auth_cert_sha256  TEXT NOT NULL UNIQUE,
    sign_cert_serial  TEXT,
    auth_cert         BYTEA NOT NULL,
    registered_at     BIGINT NOT NULL
);
CREATE TABLE server_clients (
    server_id     TEXT NOT NULL REFERENCES security_servers(id),
    client_id     TEXT NOT NULL,             -- member or subsystem id
    PRIMARY KEY (server_id, client_id)
);
CREATE TABLE global_groups (
    code          TEXT PRIMARY KEY,
    description   TEXT NOT NULL
);
CREATE TABLE global_group_members (
    group_code    TEXT NOT NULL REFERENCES global_groups(code),
    client_id     TEXT NOT NULL,
    PRIMARY KEY (group_code, client_id)
);
CREATE TABLE registration_requests (
    id            TEXT PRIMARY KEY,
    server_id     TEXT NOT NULL,
    environment   TEXT NOT NULL,
    address       TEXT NOT NULL,
    auth_csr      BYTEA NOT NULL,
    sign_csr      BYTEA NOT NULL,
    state         TEXT NOT NULL,             -- pending | approved | refused
    reason        TEXT,
    auth_cert     BYTEA,
    sign_cert     BYTEA,
    submitted_at  BIGINT NOT NULL,
    decided_at    BIGINT
);
CREATE TABLE conf_generations (
    environment   TEXT NOT NULL,             -- production | test
    serial        BIGINT NOT NULL,
    generated_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    document      TEXT NOT NULL,             -- the signed configuration as published
    PRIMARY KEY (environment, serial)
);
