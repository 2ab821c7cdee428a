-- Version 2: certificate lifecycle requests (the request forms of Decree 68: Mẫu 01–06), their
-- items and their timeline. Times are Unix seconds.

CREATE TABLE requests (
    id %ID%,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    handler TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    title TEXT NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    contact_title TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    sent_at BIGINT,
    deadline_at BIGINT,
    completed_at BIGINT,
    refusal_reason TEXT NOT NULL DEFAULT '',
    letter_sha256 TEXT
);
CREATE INDEX requests_agency_state ON requests (agency_id, state);
CREATE INDEX requests_state_deadline ON requests (state, deadline_at);

CREATE TABLE request_items (
    id %ID%,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    subscriber_id BIGINT REFERENCES subscribers (id),
    certificate_id BIGINT REFERENCES certificates (id),
    device_id BIGINT REFERENCES devices (id),
    data TEXT NOT NULL
);
CREATE INDEX request_items_request ON request_items (request_id);
CREATE INDEX request_items_certificate ON request_items (certificate_id);

CREATE TABLE request_events (
    id %ID%,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX request_events_request ON request_events (request_id);
