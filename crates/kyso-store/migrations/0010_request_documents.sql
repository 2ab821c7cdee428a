-- Version 10: a lifecycle request's letter is an outgoing document of the requesting agency
-- (issue 17 item 10): drafted, reviewed, signed by the official on their own token, numbered
-- and sealed by the clerk, registered and dispatched like any other. This table links a
-- request to that document (one letter per request, one request per letter); dispatching the
-- document sends the request. A link table rather than a column: SQLite cannot add a UNIQUE
-- column with ALTER TABLE. IF NOT EXISTS: a database taken back to an older version by hand
-- upgrades again.

CREATE TABLE IF NOT EXISTS request_documents (
    request_id BIGINT NOT NULL PRIMARY KEY REFERENCES requests (id),
    document_id BIGINT NOT NULL UNIQUE REFERENCES documents (id),
    created_at BIGINT NOT NULL
);
