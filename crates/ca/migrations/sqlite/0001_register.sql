-- The Certification Centre's register of issued certificates (TT-2.3, P-4.1.8): what was
-- issued to whom, and its revocation, which the OCSP responder answers from.
CREATE TABLE issued_certificates (
    serial            TEXT PRIMARY KEY,         -- lower-case hex, no leading zero bytes
    kind              TEXT NOT NULL,            -- auth | sign | tsa | ocsp | …
    subject           TEXT NOT NULL,            -- the identity the certificate names (its CN)
    not_before        INTEGER NOT NULL,         -- Unix seconds
    not_after         INTEGER NOT NULL,
    der               BLOB NOT NULL,
    issued_at         INTEGER NOT NULL,
    status            TEXT NOT NULL DEFAULT 'good' CHECK (status IN ('good', 'revoked')),
    revoked_at        INTEGER,
    revocation_reason TEXT,                     -- RFC 5280 name, e.g. keyCompromise
    CHECK ((status = 'good') = (revoked_at IS NULL))
);
CREATE INDEX issued_certificates_status ON issued_certificates (status);
CREATE INDEX issued_certificates_subject ON issued_certificates (subject);
