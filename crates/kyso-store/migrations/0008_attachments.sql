-- Version 9: attachments of outgoing documents in separate files (issue 17/7; Decree 30:
-- "phụ lục … kèm theo"). An attachment belongs to one document, has a title and an order, and
-- its files are kept as versions byte for byte in the blob folder (named by SHA-256): the
-- file the drafter uploaded ('draft'), then the same file with the clerk's organization
-- signature and the Decree 30 attachment stamp ('org_signed'). IF NOT EXISTS: a database
-- taken back to an older version by hand (a test does) upgrades again.

CREATE TABLE IF NOT EXISTS document_attachments (
    id %ID%,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (document_id, position)
);

CREATE TABLE IF NOT EXISTS document_attachment_versions (
    id %ID%,
    attachment_id BIGINT NOT NULL REFERENCES document_attachments (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (attachment_id, seq)
);
