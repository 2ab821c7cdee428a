-- Version 23: a report counts, for each document of an agency's subtree, its timeline rows in
-- the period by action (issue 21). With the document's events reached through
-- document_events_doc, every row was a visit to the table; this index holds the three columns
-- the count reads, so PostgreSQL answers from the index alone (the 99 reports of a province
-- over a year of documents: 4.8 s → 2.9 s; BENCHMARKS.md "Issue 21", run 3).
CREATE INDEX IF NOT EXISTS document_events_report ON document_events (document_id, created_at, action);
