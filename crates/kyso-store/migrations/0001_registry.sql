-- Version 1: the provincial registry, accounts and the audit log.
-- One text for both backends: %ID% becomes the backend's auto-increment key and %BLOB% its
-- byte-string type (see migrate.rs). Times are Unix seconds (BIGINT) unless named *_ns.

CREATE TABLE kyso_write_lock (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO kyso_write_lock (id, n) VALUES (1, 0);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agencies (
    id %ID%,
    code TEXT NOT NULL UNIQUE,
    legacy_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_fold TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id BIGINT REFERENCES agencies (id),
    path TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agencies_path ON agencies (path);
CREATE INDEX agencies_parent ON agencies (parent_id);

CREATE TABLE subscribers (
    id %ID%,
    kind TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    name_fold TEXT NOT NULL,
    date_of_birth TEXT NOT NULL DEFAULT '',
    id_number TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subscribers_agency ON subscribers (agency_id);
CREATE INDEX subscribers_name_fold ON subscribers (name_fold);
CREATE INDEX subscribers_id_number ON subscribers (id_number);

CREATE TABLE certificates (
    id %ID%,
    subscriber_id BIGINT REFERENCES subscribers (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    serial TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_fold TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    key_usage TEXT NOT NULL,
    status TEXT NOT NULL,
    revoked_at BIGINT,
    revocation_reason TEXT NOT NULL DEFAULT '',
    replaced_by BIGINT REFERENCES certificates (id),
    sha256 TEXT NOT NULL UNIQUE,
    der %BLOB% NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, serial)
);
CREATE INDEX certificates_agency ON certificates (agency_id);
CREATE INDEX certificates_subscriber ON certificates (subscriber_id);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_serial ON certificates (serial);

CREATE TABLE devices (
    id %ID%,
    kind TEXT NOT NULL,
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL DEFAULT '',
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    holder_id BIGINT REFERENCES subscribers (id),
    certificate_id BIGINT REFERENCES certificates (id),
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX devices_agency ON devices (agency_id);
CREATE INDEX devices_holder ON devices (holder_id);

CREATE TABLE device_events (
    id %ID%,
    device_id BIGINT NOT NULL REFERENCES devices (id),
    event TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    record_kind TEXT NOT NULL DEFAULT '',
    holder_id BIGINT REFERENCES subscribers (id),
    counterpart TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX device_events_device ON device_events (device_id);

CREATE TABLE users (
    id %ID%,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    PRIMARY KEY (user_id, role, agency_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id %ID%,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    agency TEXT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action);
