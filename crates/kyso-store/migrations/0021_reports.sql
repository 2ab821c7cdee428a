-- Version 21: reports (issue 21). The Department opens a period (six-monthly, annual or ad hoc
-- with its own questions, days as ISO dates, inclusive); each reporting agency (one directly
-- under a province) keeps one report per period: a draft (its comments, next year's needs and
-- answers as typed; its figures computed when read) until it is submitted, when the figures
-- computed at that moment are stored with it (JSON) and no longer follow the registry.

CREATE TABLE IF NOT EXISTS report_periods (
    id %ID%,
    kind TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    due_day TEXT NOT NULL,
    questions TEXT NOT NULL DEFAULT '',
    opened_by TEXT NOT NULL,
    opened_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS report_periods_days ON report_periods (first_day, last_day);

CREATE TABLE IF NOT EXISTS agency_reports (
    id %ID%,
    period_id BIGINT NOT NULL REFERENCES report_periods (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    state TEXT NOT NULL,
    comments TEXT NOT NULL DEFAULT '',
    needs TEXT NOT NULL DEFAULT '{}',
    answers TEXT NOT NULL DEFAULT '',
    figures TEXT,
    submitted_by TEXT,
    submitted_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (period_id, agency_id)
);

-- A report asks, for each certificate issued in its period, whether it replaced another (a
-- renewal): the replaced one points to it.
CREATE INDEX IF NOT EXISTS certificates_replaced_by ON certificates (replaced_by);
CREATE INDEX IF NOT EXISTS device_events_at ON device_events (at);
