-- Migration 0015: follow-ups of the exchange of incoming documents (issue 18 review).
-- `incoming_delivery_outcomes` records, once, that a delivery of an outgoing document inside
-- kyso cannot arrive in the recipient's queue (`duplicate`: the recipient already holds the
-- same document, taken in by another channel), so that the server's arrival rounds stop
-- taking it up (and verifying it) again; the reason is kept in both languages.
-- `incoming_outbox_followups` is the clerk's side of an e-mail status message the server
-- could not send: when it was given up (`given_up_at`; the notice to the clerks is written
-- with it), when the clerk asked for it to be sent again (`retry_from`: the retry window
-- starts again from there) and whether the clerk told the sender another way
-- (`handled_by`, `handled_at`, `handled_note`). IF NOT EXISTS: a database taken back to an
-- older version by hand upgrades again.

CREATE TABLE IF NOT EXISTS incoming_delivery_outcomes (
    delivery_id BIGINT PRIMARY KEY REFERENCES document_deliveries (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    outcome TEXT NOT NULL,
    note TEXT NOT NULL,
    note_en TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS incoming_outbox_followups (
    outbox_id BIGINT PRIMARY KEY REFERENCES incoming_outbox (id),
    given_up_at BIGINT,
    retry_from BIGINT NOT NULL DEFAULT 0,
    handled_by BIGINT REFERENCES users (id),
    handled_at BIGINT,
    handled_note TEXT NOT NULL DEFAULT ''
);
