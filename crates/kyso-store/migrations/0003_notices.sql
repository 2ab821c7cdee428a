-- Version 3: expiry notices (in-app inbox and e-mail) and the stages already sent per
-- certificate. One row of `notices` per recipient; `notice_stages_sent` makes the scan
-- idempotent (its primary key refuses a second send of a stage).

CREATE TABLE notices (
    id %ID%,
    user_id BIGINT NOT NULL REFERENCES users (id),
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    stage_days BIGINT NOT NULL,
    escalated BIGINT NOT NULL DEFAULT 0,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT,
    emailed_at BIGINT,
    email_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notices_user ON notices (user_id, created_at);
CREATE INDEX notices_unsent ON notices (emailed_at, created_at);

CREATE TABLE notice_stages_sent (
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    stage_days BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (certificate_id, stage_days)
);
