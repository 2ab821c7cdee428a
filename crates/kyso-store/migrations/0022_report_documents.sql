-- Version 22: an agency's report issued as a document (issue 21). Once submitted, the report
-- is made into a Báo cáo of the agency addressed to the Department, which goes through the
-- outgoing flow like any document (review, the leader's signature on their token, the clerk's
-- number and organization signature, registration, dispatch). One row per document made for a
-- report: a recalled one may be followed by another, the newest is the report's. Dispatching
-- it fills issued_at and the sealed file's digest.

CREATE TABLE IF NOT EXISTS report_documents (
    document_id BIGINT NOT NULL PRIMARY KEY REFERENCES documents (id),
    period_id BIGINT NOT NULL REFERENCES report_periods (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    sealed_sha256 TEXT,
    issued_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS report_documents_report ON report_documents (period_id, agency_id);
