-- The registry of state information resources (P-3.4) and the e-services registry
-- (R-9, R-10). Dates are ISO text (YYYY-MM-DD), records and their history JSON text, so the
-- same schema serves SQLite and PostgreSQL.
CREATE TABLE bodies (
    code TEXT PRIMARY KEY,
    name_az TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    name_ru TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'liquidated')),
    successor TEXT REFERENCES bodies(code)
);

CREATE TABLE information_systems (
    code TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES bodies(code),
    name TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('system', 'resource')),
    personal_data INTEGER NOT NULL DEFAULT 0,
    legal_basis TEXT NOT NULL DEFAULT '',
    services TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'operating' CHECK (status IN ('operating', 'proposed', 'retired'))
);

CREATE TABLE services (
    registry_number TEXT PRIMARY KEY,
    provider TEXT NOT NULL REFERENCES bodies(code),
    area INTEGER NOT NULL CHECK (area BETWEEN 1 AND 29),
    kind TEXT NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('registered', 'deregistered')),
    version INTEGER NOT NULL,
    registered_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX services_provider ON services (provider);

CREATE TABLE service_history (
    registry_number TEXT NOT NULL REFERENCES services(registry_number),
    version INTEGER NOT NULL,
    changed_on TEXT NOT NULL,
    application_id INTEGER NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('register', 'amend', 'deregister')),
    record TEXT NOT NULL,
    PRIMARY KEY (registry_number, version)
);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('register', 'amend', 'deregister')),
    registry_number TEXT,
    record TEXT,
    reason TEXT NOT NULL DEFAULT '',
    applicant TEXT NOT NULL,
    filed_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    changed_on TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    decided_on TEXT,
    decided_by TEXT,
    decision_note TEXT
);
CREATE INDEX applications_pending ON applications (status, due_on);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('registry_number', 0), ('application', 0);

-- Uses of each service per month (B-1), as recorded by the portal.
CREATE TABLE service_usage (
    registry_number TEXT NOT NULL REFERENCES services(registry_number),
    month TEXT NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (registry_number, month)
);
