-- Version 9 -> 10 on PostgreSQL (migrations/0010_pages.sql is SQLite's, and says why). Every
-- definition below matches schema_pg.sql, which a test compares against a database upgraded
-- from version 6. Never edit this file once a release has shipped it.

CREATE TABLE page_links (
    sha256        BYTEA PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('offer', 'status')),
    session_id    TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    assignment_id TEXT COLLATE "C",
    mechanic_id   TEXT COLLATE "C",
    outcome       TEXT COLLATE "C" CHECK (outcome IN ('accepted', 'declined', 'taken', 'expired',
                                                      'at_capacity')),
    created_at    BIGINT NOT NULL,
    CHECK ((kind = 'offer') = (assignment_id IS NOT NULL AND mechanic_id IS NOT NULL))
);

CREATE INDEX page_links_by_session ON page_links (session_id);
