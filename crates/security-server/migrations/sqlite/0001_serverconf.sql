-- Security server configuration (TT-2.2.3, TT-3.8, TT-4.1.3, TT-6.7): hosted clients,
-- service descriptions and services, REST endpoints, local groups and access rights.
CREATE TABLE clients (
    id TEXT PRIMARY KEY
);

CREATE TABLE service_descriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('wsdl', 'rest', 'openapi')),
    url TEXT NOT NULL,
    document TEXT,
    disabled_notice TEXT
);

CREATE TABLE services (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    service_code TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    description_id INTEGER NOT NULL REFERENCES service_descriptions(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    timeout_ms INTEGER,
    PRIMARY KEY (client_id, service_code, version)
);

CREATE TABLE endpoints (
    client_id TEXT NOT NULL,
    service_code TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (client_id, service_code, method, path)
);

CREATE TABLE local_groups (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (client_id, code)
);

CREATE TABLE local_group_members (
    client_id TEXT NOT NULL,
    group_code TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (client_id, group_code, member_id),
    FOREIGN KEY (client_id, group_code) REFERENCES local_groups(client_id, code) ON DELETE CASCADE
);

CREATE TABLE access_rights (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    service_code TEXT NOT NULL,
    subject TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT '*',
    path TEXT NOT NULL DEFAULT '/**',
    PRIMARY KEY (client_id, service_code, subject, method, path)
);

-- Bumped by every change; running servers reload their in-memory copy when it moves.
CREATE TABLE conf_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO conf_version (id, version) VALUES (1, 0);
