-- Version 7: one-time signing tickets (issue 17 item 3). The page of the person whose signing
-- step it is gets a ticket (a JWT the web face signs) for one document, one version, one step;
-- the signing service on that person's computer downloads the version and uploads the signed
-- file with it. A ticket is claimed by the upload that uses it (claimed_at) and given back when
-- the server refuses the file (refusals counted, a few at most); the version stored with the
-- step is recorded (used_version). IF NOT EXISTS: a database taken back to an older version by
-- hand upgrades again.

CREATE TABLE IF NOT EXISTS signing_tickets (
    jti TEXT %C% PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    document_id BIGINT NOT NULL REFERENCES documents (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_at BIGINT,
    used_version BIGINT,
    refusals BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS signing_tickets_expiry ON signing_tickets (expires_at);
