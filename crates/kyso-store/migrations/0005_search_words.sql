-- Version 5: the word index behind registry search (src/words.rs). Each subscriber's and each
-- certificate's search words (kyso_domain::text::words of the name, ID number, email; of the
-- subject, serial and holder's name); a query word finds the rows holding a word that begins
-- with it through a range over (word, id). `%C%` makes PostgreSQL compare the words by code
-- point, as SQLite does, so that the range holds exactly the words with that beginning.
-- The rows already in the database are indexed by the migration itself, after these tables.
CREATE TABLE subscriber_words (
    word TEXT %C% NOT NULL,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id),
    PRIMARY KEY (word, subscriber_id)
);
CREATE INDEX subscriber_words_row ON subscriber_words (subscriber_id, word);

CREATE TABLE certificate_words (
    word TEXT %C% NOT NULL,
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    PRIMARY KEY (word, certificate_id)
);
CREATE INDEX certificate_words_row ON certificate_words (certificate_id, word);
