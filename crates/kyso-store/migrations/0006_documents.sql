-- Version 6: outgoing documents (issue 17). Registers per agency with yearly number series,
-- documents with their Decree 30 metadata and state, versions (bytes in the blob folder,
-- referenced by SHA-256), the numbers taken (gapless and unique per register and year; a
-- released number is kept with why and is the next one given), copies in the agency's own
-- yearly series, comments, the timeline, deliveries to recipients and recalls. IF NOT EXISTS:
-- a database taken back to an older version by hand (a test does) upgrades again.

CREATE TABLE IF NOT EXISTS doc_registers (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    code TEXT %C% NOT NULL,
    name TEXT NOT NULL,
    issuer_abbrev TEXT NOT NULL,
    doc_types TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, code)
);

CREATE TABLE IF NOT EXISTS documents (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    register_id BIGINT NOT NULL REFERENCES doc_registers (id),
    state TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    meta TEXT NOT NULL,
    drafter_id BIGINT NOT NULL REFERENCES users (id),
    signer_id BIGINT REFERENCES users (id),
    number_year BIGINT,
    number BIGINT,
    notation TEXT,
    issued_date TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_agency_state ON documents (agency_id, state, updated_at);

CREATE TABLE IF NOT EXISTS document_versions (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (document_id, seq)
);

CREATE TABLE IF NOT EXISTS doc_numbers (
    register_id BIGINT NOT NULL REFERENCES doc_registers (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    status TEXT NOT NULL,
    document_id BIGINT REFERENCES documents (id),
    notation TEXT,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (register_id, year, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS doc_numbers_notation ON doc_numbers (agency_id, year, number, notation);
CREATE UNIQUE INDEX IF NOT EXISTS doc_numbers_document ON doc_numbers (document_id);

CREATE TABLE IF NOT EXISTS doc_number_releases (
    id %ID%,
    register_id BIGINT NOT NULL REFERENCES doc_registers (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    reason TEXT NOT NULL,
    released_by BIGINT NOT NULL REFERENCES users (id),
    released_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS document_copies (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    form TEXT NOT NULL,
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    made_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, year, number)
);

CREATE TABLE IF NOT EXISTS document_comments (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS document_comments_doc ON document_comments (document_id, id);

CREATE TABLE IF NOT EXISTS document_events (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS document_events_doc ON document_events (document_id, id);

CREATE TABLE IF NOT EXISTS document_deliveries (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    recipient_code TEXT NOT NULL,
    recipient_agency_id BIGINT REFERENCES agencies (id),
    state TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    recalled_at BIGINT,
    UNIQUE (document_id, recipient_code)
);
CREATE INDEX IF NOT EXISTS document_deliveries_recipient ON document_deliveries (recipient_agency_id, delivered_at);

CREATE TABLE IF NOT EXISTS document_recalls (
    document_id BIGINT PRIMARY KEY REFERENCES documents (id),
    reason TEXT NOT NULL,
    recalled_by BIGINT NOT NULL REFERENCES users (id),
    recalled_at BIGINT NOT NULL,
    recipients BIGINT NOT NULL
);
