-- Adapter servers whose configuration this security server keeps and pushes
-- (TT-4.1.4, TT-4.2): the mapping file as the administrator last gave it, where the
-- adapter answers, the token it accepts pushes with, and — when it serves HTTPS — the
-- certificate this server trusts for it (PEM).
CREATE TABLE adapters (
    name TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    mapping TEXT NOT NULL,
    token TEXT NOT NULL,
    certificate TEXT,
    updated_at TEXT NOT NULL
);
