-- Version 8: the inbox holds notices of the outgoing-document flow beside the expiry notices
-- (issue 17/2). `kind` tells them apart ('expiry', 'document'); a document notice names its
-- document and the step (`event`: the action taken, or 'delivery' for a recipient agency's
-- clerk) and the page it links to; `subject_en` is the subject for English readers (empty:
-- the Vietnamese one). The certificate and the stage are now optional, so the table is
-- rebuilt (SQLite cannot drop NOT NULL); the rows keep their order, nothing references their
-- ids. Run again on a database taken back by hand (a test does), it rebuilds the table again.

CREATE TABLE notices_v8 (
    id %ID%,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL DEFAULT 'expiry',
    certificate_id BIGINT REFERENCES certificates (id),
    stage_days BIGINT,
    escalated BIGINT NOT NULL DEFAULT 0,
    document_id BIGINT REFERENCES documents (id),
    event TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    subject_en TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT,
    emailed_at BIGINT,
    email_error TEXT NOT NULL DEFAULT ''
);

INSERT INTO notices_v8 (user_id, certificate_id, stage_days, escalated, subject, body,
    created_at, read_at, emailed_at, email_error)
SELECT user_id, certificate_id, stage_days, escalated, subject, body, created_at, read_at,
    emailed_at, email_error FROM notices ORDER BY id;

DROP TABLE notices;

ALTER TABLE notices_v8 RENAME TO notices;

CREATE INDEX notices_user ON notices (user_id, created_at);
CREATE INDEX notices_unsent ON notices (emailed_at, created_at);
CREATE INDEX notices_document ON notices (document_id);
