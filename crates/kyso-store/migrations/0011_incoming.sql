-- Version 11: incoming documents (issue 18). Incoming registers per agency, each with its
-- yearly arrival numbers (given at registration, gapless and unique per register and year);
-- incoming documents with how they arrived, the sender's metadata, the file (bytes in the blob
-- folder by SHA-256), the verification on arrival (verdict, reason codes, the kyso.verify/1
-- report, optionally the SHA-256 of its PDF rendering), the clerk's decision, the handling
-- (lead and coordinating units, deadline) and the edXML status code of the state; their
-- timeline; the reminder stages sent before a deadline; and the status messages to send to
-- senders outside the registry (edXML status 02 or an e-mail). IF NOT EXISTS: a database taken
-- back to an older version by hand upgrades again.

CREATE TABLE IF NOT EXISTS incoming_registers (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    code TEXT %C% NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, code)
);

CREATE TABLE IF NOT EXISTS incoming_documents (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    channel TEXT NOT NULL,
    scanned BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    status_code TEXT NOT NULL,
    sender_code TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    sender_email TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL,
    notation TEXT NOT NULL,
    doc_date TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    signer TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reasons TEXT NOT NULL,
    report TEXT NOT NULL,
    report_pdf_sha256 TEXT,
    delivery_id BIGINT REFERENCES document_deliveries (id),
    source_document_id BIGINT REFERENCES documents (id),
    register_id BIGINT REFERENCES incoming_registers (id),
    arrival_year BIGINT,
    arrival_number BIGINT,
    arrived_at BIGINT NOT NULL,
    received_by BIGINT NOT NULL,
    decided_by BIGINT,
    decided_at BIGINT,
    decision_note TEXT NOT NULL DEFAULT '',
    lead_unit_id BIGINT REFERENCES agencies (id),
    deadline TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS incoming_agency_state ON incoming_documents (agency_id, state, arrived_at);
CREATE INDEX IF NOT EXISTS incoming_bytes ON incoming_documents (agency_id, sha256);
CREATE INDEX IF NOT EXISTS incoming_sender ON incoming_documents (agency_id, number, doc_date);
CREATE UNIQUE INDEX IF NOT EXISTS incoming_delivery ON incoming_documents (delivery_id);
CREATE UNIQUE INDEX IF NOT EXISTS incoming_arrival ON incoming_documents (register_id, arrival_year, arrival_number);

CREATE TABLE IF NOT EXISTS incoming_units (
    incoming_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    lead BIGINT NOT NULL,
    PRIMARY KEY (incoming_id, agency_id)
);

CREATE TABLE IF NOT EXISTS incoming_events (
    id %ID%,
    incoming_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    status_code TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS incoming_events_doc ON incoming_events (incoming_id, id);

CREATE TABLE IF NOT EXISTS incoming_reminders_sent (
    incoming_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    deadline TEXT NOT NULL,
    stage_days BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (incoming_id, deadline, stage_days)
);

CREATE TABLE IF NOT EXISTS incoming_outbox (
    id %ID%,
    incoming_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    status_code TEXT NOT NULL,
    via TEXT NOT NULL,
    recipient TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX IF NOT EXISTS incoming_outbox_unsent ON incoming_outbox (sent_at, id);
