-- Migration 0013: the numbers of copies (SAO Y, SAO LỤC, TRÍCH SAO; issue 17 items 3 and 7)
-- taken the way documents' numbers are (issue 17 item 5). A copy signed in one click through
-- the signing service (VGCA SignCopy) shows its number on its stamp, so the number is reserved
-- when the clerk's one-time ticket is issued (status 'reserved', the ticket's id kept), made
-- final ('issued') in the transaction that records the signed copy, and given back
-- ('released', with why in copy_number_releases) when its ticket ends unused — expired, spent
-- by refused uploads, or replaced by a newer ticket. A released number is the next one
-- reserved in its series, so the issued numbers of an agency's year are 1…n without repeats.
-- The copies already made keep their numbers (copied here as issued). IF NOT EXISTS and the
-- guarded INSERT: a database taken back to an older version by hand upgrades again.

CREATE TABLE IF NOT EXISTS copy_numbers (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL,
    document_id BIGINT REFERENCES documents (id),
    form TEXT,
    ticket TEXT %C%,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, year, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS copy_numbers_ticket ON copy_numbers (ticket);
CREATE INDEX IF NOT EXISTS copy_numbers_status ON copy_numbers (agency_id, year, status);

CREATE TABLE IF NOT EXISTS copy_number_releases (
    id %ID%,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    ticket TEXT NOT NULL,
    reason TEXT NOT NULL,
    released_by BIGINT NOT NULL REFERENCES users (id),
    released_at BIGINT NOT NULL
);

INSERT INTO copy_numbers (agency_id, year, number, status, document_id, form, ticket, changed_at)
SELECT c.agency_id, c.year, c.number, 'issued', c.document_id, c.form, NULL, c.created_at
FROM document_copies c
WHERE NOT EXISTS (SELECT 1 FROM copy_numbers n WHERE n.agency_id = c.agency_id
                  AND n.year = c.year AND n.number = c.number);
