-- Participant and service lifecycles (TT-3.1–3.14, P-6.1), working-day calendar (TT-3.3,
-- TT-3.9), notices and maintenance windows (P-5.1.7, TT-3.12, TT-3.14), information-security
-- incidents (TT-6.8). Ids are UUID v7 text (time-ordered, the same on both backends); times are
-- unix seconds; calendar dates are 'YYYY-MM-DD' in Baku time (UTC+4).

-- Public holidays; weekends (Saturday, Sunday) are implied. Lunar holidays and transferred
-- rest days are entered by the operator each year.
CREATE TABLE holidays (
    date          TEXT PRIMARY KEY,          -- YYYY-MM-DD
    name          TEXT NOT NULL
);

-- TT-3.1 application (annex 1 form) and its compliance check (TT-3.3, P-6.1).
CREATE TABLE participant_applications (
    id                       TEXT PRIMARY KEY,
    member_id                TEXT NOT NULL,  -- requested INSTANCE/CLASS/CODE
    subsystems               TEXT NOT NULL,  -- JSON array of subsystem codes
    organisation_name        TEXT NOT NULL,
    tax_id                   TEXT NOT NULL,  -- VÖEN, 10 digits
    legal_status             TEXT NOT NULL,  -- central-executive | local-executive | municipality | other
    legal_address            TEXT NOT NULL,
    actual_address           TEXT NOT NULL,
    legal_basis              TEXT NOT NULL,
    information_system       TEXT NOT NULL,
    resource_names           TEXT NOT NULL,  -- JSON array
    registry_extract_number  TEXT NOT NULL,
    assessment_date          TEXT NOT NULL,  -- YYYY-MM-DD
    assessment_result        TEXT NOT NULL,
    contact_persons          TEXT NOT NULL,  -- JSON array of {name, position, role, phone, email}
    official_name            TEXT NOT NULL,  -- authorised official
    official_position        TEXT NOT NULL,
    state                    TEXT NOT NULL,  -- submitted | approved | refused
    submitted_at             BIGINT NOT NULL,
    check_due                TEXT NOT NULL,  -- YYYY-MM-DD, 7 working days after submission (TT-3.3)
    decided_at               BIGINT,
    decided_by               TEXT,
    refusal_reason           TEXT,           -- the reasoned opinion (P-6.1)
    copied_to_state_agency   BIGINT NOT NULL DEFAULT 0  -- 1 when the refusal goes to the State Agency (P-6.1.4)
);
CREATE INDEX participant_applications_member ON participant_applications (member_id);
-- at most one pending application per member id, even under concurrent submissions
CREATE UNIQUE INDEX participant_applications_pending ON participant_applications (member_id) WHERE state = 'submitted';

-- TT-3.3 contract concluded when the compliance check approves an application.
CREATE TABLE contracts (
    id                     TEXT PRIMARY KEY,
    application_id         TEXT NOT NULL UNIQUE REFERENCES participant_applications(id),
    member_id              TEXT NOT NULL REFERENCES members(id),
    authorised_officials   TEXT NOT NULL,    -- JSON array of {name, position}
    provided_services      TEXT NOT NULL,    -- JSON array
    data_used              TEXT NOT NULL,    -- JSON array
    server_administrator   TEXT NOT NULL,    -- JSON {name, position, role, phone, email}
    request_structures     TEXT NOT NULL,    -- JSON array
    restricted_data_rules  TEXT NOT NULL,
    concluded_at           BIGINT NOT NULL,
    concluded_by           TEXT NOT NULL
);

-- Every state change of a participant: who, when, what, why (P-2.1.7 transparency).
CREATE TABLE participant_events (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL,             -- the member, or the member id an application asks for
    action        TEXT NOT NULL,             -- applied | approved | refused | breach-notice | remedied | disconnected | blocked | unblocked | liquidated
    from_state    TEXT,
    to_state      TEXT,
    reason        TEXT,
    actor         TEXT NOT NULL,
    recorded_at   BIGINT NOT NULL
);
CREATE INDEX participant_events_member ON participant_events (member_id, recorded_at);

-- TT-3.6 written breach notices: one month to remedy, then disconnection.
CREATE TABLE breach_notices (
    id               TEXT PRIMARY KEY,
    member_id        TEXT NOT NULL REFERENCES members(id),
    description      TEXT NOT NULL,
    issued_at        BIGINT NOT NULL,
    issued_by        TEXT NOT NULL,
    remedy_deadline  TEXT NOT NULL,          -- YYYY-MM-DD, one month after issue
    state            TEXT NOT NULL,          -- open | remedied | disconnected
    closed_at        BIGINT,
    closed_by        TEXT
);
CREATE INDEX breach_notices_member ON breach_notices (member_id);

-- TT-3.8–3.14 e-service connection applications and the service's later life.
CREATE TABLE service_applications (
    id                   TEXT PRIMARY KEY,
    service_id           TEXT NOT NULL,      -- INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]
    member_id            TEXT NOT NULL REFERENCES members(id),
    service_name         TEXT NOT NULL,
    regulation_number    TEXT NOT NULL,      -- e-services registry number (R-4.5)
    responsible_person   TEXT NOT NULL,
    state                TEXT NOT NULL,      -- applied | testing | connected | refused | retired
    submitted_at         BIGINT NOT NULL,
    submitted_by         TEXT NOT NULL,
    connect_due          TEXT NOT NULL,      -- YYYY-MM-DD, 7 working days (TT-3.9)
    testing_at           BIGINT,
    connected_at         BIGINT,
    decided_by           TEXT,
    refusal_reason       TEXT,
    refused_at           BIGINT,
    retirement_kind      TEXT,               -- version | disconnection
    retirement_reason    TEXT,
    successor_id         TEXT,               -- the new version (TT-3.11)
    retires_on           TEXT,               -- YYYY-MM-DD, the first day it is gone
    retirement_announced_at BIGINT,
    retired_at           BIGINT
);
CREATE INDEX service_applications_service ON service_applications (service_id);
-- at most one live record per service (applied, in testing or connected)
CREATE UNIQUE INDEX service_applications_live ON service_applications (service_id)
    WHERE state IN ('applied', 'testing', 'connected');

-- Notices to participants; recipient NULL = every member.
CREATE TABLE notices (
    id            TEXT PRIMARY KEY,
    recipient     TEXT,                      -- member id INSTANCE/CLASS/CODE, NULL for all
    sender        TEXT NOT NULL,             -- 'operator' or the announcing member id
    kind          TEXT NOT NULL,             -- maintenance | version-retirement | service-disconnection | breach | block | unblock | decision | disconnection
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    service_id    TEXT,
    starts_at     BIGINT,                    -- effective window
    ends_at       BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX notices_recipient ON notices (recipient, created_at);
CREATE INDEX notices_kind ON notices (kind, starts_at);

-- TT-6.8 information-security incidents reported by security servers.
CREATE TABLE incidents (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,          -- authentication-failure | access-denied | signature-failure | replay | blocked | other
    occurred_at      BIGINT NOT NULL,
    reported_at      BIGINT NOT NULL,
    reporter         TEXT NOT NULL,          -- security server INSTANCE/CLASS/CODE/SERVER
    client_id        TEXT NOT NULL,
    client_member    TEXT NOT NULL,          -- member of client_id, for the member filter
    service_id       TEXT,
    provider_member  TEXT,                   -- member providing service_id
    peer_address     TEXT,
    reason           TEXT NOT NULL
);
CREATE INDEX incidents_occurred ON incidents (occurred_at);
CREATE INDEX incidents_client_member ON incidents (client_member, occurred_at);
CREATE INDEX incidents_provider_member ON incidents (provider_member, occurred_at);
