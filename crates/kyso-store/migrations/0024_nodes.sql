-- Version 24: what several `kyso serve` nodes on one database must share (issue 19 item 5).
--
-- The login throttle: one row per client address and user name — kept as the SHA-256 of the
-- two, never the name typed (it may be a password typed in the wrong field) — with the failures
-- counted since its window began, so every node counts the same failures.
CREATE TABLE IF NOT EXISTS login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_throttle_window ON login_throttle (window_start);

-- Leases of the scheduled jobs (the backup, the hourly notice scan): the node holding a job's
-- lease until `until` (Unix seconds) runs it; the others skip that round. A node that stops
-- holding it (stopped, killed) loses it when it runs out.
CREATE TABLE IF NOT EXISTS job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
