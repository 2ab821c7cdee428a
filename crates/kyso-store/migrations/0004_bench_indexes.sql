-- Version 4: indexes for the registry at province size (BENCHMARKS.md, "Issue 6").
-- The dashboard's certificate and device figures are sums over one pass of these covering
-- indexes (no row of the tables themselves is read), for every agency of the reader's subtrees.
CREATE INDEX certificates_agency_status ON certificates (agency_id, status, not_after);
CREATE INDEX devices_agency_state ON devices (agency_id, state);
