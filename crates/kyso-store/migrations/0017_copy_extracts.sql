-- Migration 0017: the extract of a TRÍCH SAO copy (issue 17 item 7, Decree 30 art. 25). The
-- clerk chooses the pages (and may note what is extracted); the server builds the extract of
-- the issued version (kyso_pdf::extract: a new PDF of those pages, deterministic) and keeps it
-- in the blob store as the copy's base. A copy signed through the signing service (SignCopy)
-- holds it with the ticket that reserved its number ('ticket'): the signing service downloads
-- the extract, and the upload must be the extract plus one signature. The signed copy points to
-- it ('copy_id'), as does a TRÍCH SAO uploaded already signed. IF NOT EXISTS: a database taken
-- back to an older version by hand upgrades again.

CREATE TABLE IF NOT EXISTS copy_extracts (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    source_seq BIGINT NOT NULL,
    pages TEXT NOT NULL,
    note TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    ticket TEXT %C%,
    copy_id BIGINT REFERENCES document_copies (id),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS copy_extracts_ticket ON copy_extracts (ticket);
CREATE UNIQUE INDEX IF NOT EXISTS copy_extracts_copy ON copy_extracts (copy_id);
