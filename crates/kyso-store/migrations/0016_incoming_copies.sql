-- Migration 0016: copies signed for incoming documents (issue 18 item 1, issue 17 item 7). The
-- clerk of a receiving agency digitises a scanned paper document (SAO Y from paper to
-- electronic: the scan signed with the agency's organization key and the copy stamp) and signs
-- copies (SAO Y, SAO LỤC) of a received document, through the same one-time SignCopy tickets
-- and the same copy series as the copies of its outgoing documents. So a signing ticket, a copy
-- number and a released copy number refer to an outgoing document or to an incoming record:
-- exactly one of document_id / incoming_id is set (a released number refers to none). SQLite
-- cannot drop a column's NOT NULL in place: its three tables are rebuilt (data, foreign keys and
-- indexes kept; nothing refers to them); PostgreSQL alters them (%SQLITE% / %PG% statements run
-- on that engine only, written so that running them again changes nothing). The signed copies
-- of incoming records are kept in incoming_copies (the digitised copy at most once per record),
-- with the verification report of each.

%SQLITE% CREATE TABLE signing_tickets_0015 (
    jti TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    document_id BIGINT REFERENCES documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_at BIGINT,
    used_version BIGINT,
    refusals BIGINT NOT NULL DEFAULT 0,
    CHECK ((document_id IS NULL) <> (incoming_id IS NULL))
);
%SQLITE% INSERT INTO signing_tickets_0015 (jti, user_id, document_id, incoming_id, seq, action,
    issued_at, expires_at, claimed_at, used_version, refusals)
SELECT jti, user_id, document_id, NULL, seq, action, issued_at, expires_at, claimed_at,
    used_version, refusals FROM signing_tickets;
%SQLITE% DROP TABLE signing_tickets;
%SQLITE% ALTER TABLE signing_tickets_0015 RENAME TO signing_tickets;
%SQLITE% CREATE INDEX signing_tickets_expiry ON signing_tickets (expires_at);

%PG% ALTER TABLE signing_tickets ALTER COLUMN document_id DROP NOT NULL;
%PG% ALTER TABLE signing_tickets ADD COLUMN IF NOT EXISTS incoming_id BIGINT REFERENCES incoming_documents (id);
%PG% ALTER TABLE signing_tickets DROP CONSTRAINT IF EXISTS signing_tickets_one_subject;
%PG% ALTER TABLE signing_tickets ADD CONSTRAINT signing_tickets_one_subject
    CHECK ((document_id IS NULL) <> (incoming_id IS NULL));

CREATE INDEX IF NOT EXISTS signing_tickets_incoming ON signing_tickets (incoming_id);

%SQLITE% CREATE TABLE copy_numbers_0015 (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL,
    document_id BIGINT REFERENCES documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    form TEXT,
    ticket TEXT,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, year, number),
    CHECK ((status = 'released' AND document_id IS NULL AND incoming_id IS NULL)
        OR (status <> 'released' AND (document_id IS NULL) <> (incoming_id IS NULL)))
);
%SQLITE% INSERT INTO copy_numbers_0015 (agency_id, year, number, status, document_id,
    incoming_id, form, ticket, changed_at)
SELECT agency_id, year, number, status, document_id, NULL, form, ticket, changed_at
FROM copy_numbers;
%SQLITE% DROP TABLE copy_numbers;
%SQLITE% ALTER TABLE copy_numbers_0015 RENAME TO copy_numbers;
%SQLITE% CREATE UNIQUE INDEX copy_numbers_ticket ON copy_numbers (ticket);
%SQLITE% CREATE INDEX copy_numbers_status ON copy_numbers (agency_id, year, status);

%PG% ALTER TABLE copy_numbers ADD COLUMN IF NOT EXISTS incoming_id BIGINT REFERENCES incoming_documents (id);
%PG% ALTER TABLE copy_numbers DROP CONSTRAINT IF EXISTS copy_numbers_one_subject;
%PG% ALTER TABLE copy_numbers ADD CONSTRAINT copy_numbers_one_subject
    CHECK ((status = 'released' AND document_id IS NULL AND incoming_id IS NULL)
        OR (status <> 'released' AND (document_id IS NULL) <> (incoming_id IS NULL)));

%SQLITE% CREATE TABLE copy_number_releases_0015 (
    id INTEGER PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    document_id BIGINT REFERENCES documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    ticket TEXT NOT NULL,
    reason TEXT NOT NULL,
    released_by BIGINT NOT NULL REFERENCES users (id),
    released_at BIGINT NOT NULL,
    CHECK ((document_id IS NULL) <> (incoming_id IS NULL))
);
%SQLITE% INSERT INTO copy_number_releases_0015 (id, agency_id, year, number, document_id,
    incoming_id, ticket, reason, released_by, released_at)
SELECT id, agency_id, year, number, document_id, NULL, ticket, reason, released_by, released_at
FROM copy_number_releases;
%SQLITE% DROP TABLE copy_number_releases;
%SQLITE% ALTER TABLE copy_number_releases_0015 RENAME TO copy_number_releases;

%PG% ALTER TABLE copy_number_releases ALTER COLUMN document_id DROP NOT NULL;
%PG% ALTER TABLE copy_number_releases ADD COLUMN IF NOT EXISTS incoming_id BIGINT
    REFERENCES incoming_documents (id);
%PG% ALTER TABLE copy_number_releases DROP CONSTRAINT IF EXISTS copy_number_releases_one_subject;
%PG% ALTER TABLE copy_number_releases ADD CONSTRAINT copy_number_releases_one_subject
    CHECK ((document_id IS NULL) <> (incoming_id IS NULL));

CREATE INDEX IF NOT EXISTS copy_number_releases_series
    ON copy_number_releases (agency_id, year, id);

CREATE TABLE IF NOT EXISTS incoming_copies (
    id %ID%,
    incoming_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    purpose TEXT NOT NULL,
    form TEXT NOT NULL,
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    source_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reasons TEXT NOT NULL,
    report TEXT NOT NULL,
    report_pdf_sha256 TEXT,
    ticket TEXT %C% NOT NULL,
    made_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, year, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS incoming_copies_digitised ON incoming_copies (incoming_id)
    WHERE purpose = 'digitised';
CREATE INDEX IF NOT EXISTS incoming_copies_record ON incoming_copies (incoming_id, id);
