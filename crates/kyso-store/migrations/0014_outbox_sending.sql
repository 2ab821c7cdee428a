-- Migration 0014: sending the status messages of incoming documents (issue 18 items 1 and 3).
-- `incoming_outbox_sends` is the sender's bookkeeping of one outbox row (migration 0011's
-- `incoming_outbox` keeps what is said and `sent_at`): an e-mail row is claimed before it is
-- handed to SMTP (`claimed_at`, `attempts` counted at the claim), settled after (sent: the
-- outbox row's `sent_at`; failed: `last_error`, the claim dropped and `next_attempt_at` moved
-- on by the backoff; `given_up` when the server refused it for good); an edXML row records
-- who of the exchange connector acknowledged it (`acked_by`). `incoming_edxml` keeps, for a
-- document that arrived as an edXML package, what the record's columns do not: the sender's
-- `OrganId`, `DocumentId` and promulgation date exactly as received (the status messages
-- answer with them), the rest of the header as JSON (To, ResponseFor, DueDate, ToPlaces,
-- OtherInfo, SteeringType, the trace) and the whole package by its SHA-256 in the blob folder
-- (its other attachments are in it). IF NOT EXISTS: a database taken back to an older version
-- by hand upgrades again.

CREATE TABLE IF NOT EXISTS incoming_outbox_sends (
    outbox_id BIGINT PRIMARY KEY REFERENCES incoming_outbox (id),
    attempts BIGINT NOT NULL DEFAULT 0,
    claimed_at BIGINT,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    given_up BIGINT NOT NULL DEFAULT 0,
    acked_by BIGINT REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS incoming_edxml (
    incoming_id BIGINT PRIMARY KEY REFERENCES incoming_documents (id),
    organ_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    promulgation_date TEXT NOT NULL,
    header TEXT NOT NULL,
    package_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS incoming_outbox_via ON incoming_outbox (via, sent_at, id);
