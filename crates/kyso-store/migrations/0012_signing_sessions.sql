-- Migration 0012: the signing service's two-phase sessions (issue 18 item 7). `POST
-- /api/v1/sign/prepare` records what the second call needs: the caller's account, the mode
-- (`cms`: kyso builds the signed attributes; `external_cms`: the caller sends a whole CMS), the
-- input PDF by its blob name (the blob folder keeps it byte for byte), the document version it
-- came from (if any), the preparation's parameters as JSON (the engine's, opaque to the store)
-- and the digest the caller signs. A session is claimed by the finalize that uses it in one
-- conditional UPDATE (two at once: one goes on), given back when the signature was refused (a
-- few refusals at most), and finished once the signed PDF was made. IF NOT EXISTS: a database
-- taken back to an older version by hand upgrades again.

CREATE TABLE IF NOT EXISTS signing_sessions (
    id TEXT %C% PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL,
    source_blob TEXT NOT NULL,
    document_id BIGINT,
    seq BIGINT,
    params TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_at BIGINT,
    finished_at BIGINT,
    refusals BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS signing_sessions_expiry ON signing_sessions (expires_at);
