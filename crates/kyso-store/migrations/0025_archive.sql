-- Version 25: the archive (issue 19 item 2). Dossiers (hồ sơ) per agency and year with their
-- retention period; one entry per registered outgoing or incoming document with the metadata
-- it is found by and the file it was filed with; the queue of documents registered and not yet
-- filed (written in the registering transaction, emptied by the filing job); and the text index,
-- one per engine (ARCHITECTURE.md, "The archive's search"): an FTS5 table on SQLite, two
-- `tsvector`s with GIN indexes on PostgreSQL.

CREATE TABLE IF NOT EXISTS dossiers (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    year BIGINT NOT NULL,
    code TEXT %C% NOT NULL,
    title TEXT NOT NULL,
    retention_years BIGINT NOT NULL,
    keeper TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    handed_at BIGINT,
    UNIQUE (agency_id, year, code)
);

CREATE TABLE IF NOT EXISTS archive_entries (
    id %ID%,
    kind TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    agency_path TEXT %C% NOT NULL,
    number TEXT NOT NULL,
    notation TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    signer TEXT NOT NULL,
    counterpart TEXT NOT NULL,
    doc_date TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    text_state TEXT NOT NULL,
    text_note TEXT NOT NULL DEFAULT '',
    dossier_id BIGINT REFERENCES dossiers (id),
    filed_at BIGINT NOT NULL,
    UNIQUE (kind, source_id)
);
CREATE INDEX IF NOT EXISTS archive_entries_path ON archive_entries (agency_path, id);
CREATE INDEX IF NOT EXISTS archive_entries_dossier ON archive_entries (dossier_id, id);
CREATE INDEX IF NOT EXISTS archive_entries_date ON archive_entries (doc_date, id);

CREATE TABLE IF NOT EXISTS archive_queue (
    kind TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    queued_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, source_id)
);

-- Words per part in columns of their own, tags (agency subtree, type, month) in the last:
-- a contentless table (the entries hold the text shown) whose rows can still be deleted.
%SQLITE% CREATE VIRTUAL TABLE IF NOT EXISTS archive_text USING fts5 (
    code, subject, signer, meta, body, tags,
    content = '', contentless_delete = 1, detail = column,
    tokenize = 'unicode61 remove_diacritics 0 tokenchars ''_'''
);

%PG% CREATE TABLE IF NOT EXISTS archive_text (
    entry_id BIGINT PRIMARY KEY REFERENCES archive_entries (id),
    words TSVECTOR NOT NULL,
    tags TSVECTOR NOT NULL
);
%PG% CREATE INDEX IF NOT EXISTS archive_text_words ON archive_text USING GIN (words);
%PG% CREATE INDEX IF NOT EXISTS archive_text_tags ON archive_text USING GIN (tags);

-- What was registered before this version waits to be filed.
INSERT INTO archive_queue (kind, source_id, queued_at)
    SELECT 'outgoing', d.id, d.updated_at FROM documents d
    WHERE d.state IN ('registered', 'dispatched', 'recalled')
      AND NOT EXISTS (SELECT 1 FROM archive_queue q WHERE q.kind = 'outgoing' AND q.source_id = d.id)
      AND NOT EXISTS (SELECT 1 FROM archive_entries e WHERE e.kind = 'outgoing' AND e.source_id = d.id);
INSERT INTO archive_queue (kind, source_id, queued_at)
    SELECT 'incoming', i.id, i.updated_at FROM incoming_documents i
    WHERE i.register_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM archive_queue q WHERE q.kind = 'incoming' AND q.source_id = i.id)
      AND NOT EXISTS (SELECT 1 FROM archive_entries e WHERE e.kind = 'incoming' AND e.source_id = i.id);
