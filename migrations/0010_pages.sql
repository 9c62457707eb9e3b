-- Version 9 -> 10: the links that open pitwall's pages from a message. An offer's link answers
-- that one offer for that one mechanic; a status link shows one session to its customer. Only a
-- link's SHA-256 is kept (the link itself travels in the message alone), and a link goes with
-- its session when that is pruned. Copied from schema.sql, which a test compares against an
-- upgraded file. Never edit this file once a release has shipped it.

CREATE TABLE page_links (
    sha256        BLOB PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    kind          TEXT NOT NULL CHECK (kind IN ('offer', 'status')),
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    assignment_id TEXT,
    mechanic_id   TEXT,
    -- How the offer was answered through its link; the link shows only this afterwards.
    outcome       TEXT CHECK (outcome IN ('accepted', 'declined', 'taken', 'expired',
                                          'at_capacity')),
    created_at    INTEGER NOT NULL,
    -- An offer's link names its offer and its mechanic; a status link names neither.
    CHECK ((kind = 'offer') = (assignment_id IS NOT NULL AND mechanic_id IS NOT NULL))
) WITHOUT ROWID;

CREATE INDEX page_links_by_session ON page_links (session_id);
