-- Version 1 -> 2: an assignment's match_reasons and metadata move to assignment_details, so the
-- row every status change rewrites is narrow; match_type becomes a plain column (it was generated
-- from metadata) and leaves the stored metadata; seq (the old rowid) keeps rows in their order.
-- Every statement below that creates something is copied from schema.sql, which a test compares
-- against a file upgraded from version 1. Never edit this file once a release has shipped it.

ALTER TABLE session_assignments RENAME TO session_assignments_v1;
DROP INDEX assignments_one_accepted;
DROP INDEX assignments_by_session;
DROP INDEX assignments_by_mechanic;
DROP INDEX assignments_due;
DROP INDEX assignments_broadcast_held;
DROP INDEX assignments_broadcast_open;

CREATE TABLE session_assignments (
    seq           INTEGER PRIMARY KEY,                      -- creation order; details hang off it
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id),
    mechanic_id   TEXT REFERENCES mechanics (id),          -- NULL while a broadcast is open
    -- The one source of metadata.match_type: assignment_details keeps the rest of the metadata
    -- and store::assignments puts match_type back when it reads an assignment.
    match_type    TEXT NOT NULL CHECK (match_type IN ('targeted', 'broadcast')),
    status        TEXT NOT NULL
                  CHECK (status IN ('queued', 'offered', 'accepted', 'declined', 'expired', 'cancelled')),
    priority      TEXT NOT NULL CHECK (priority IN ('high', 'normal', 'low')),
    match_score   INTEGER,
    offered_at    INTEGER,
    expires_at    INTEGER,                                  -- targeted offers
    active_from   INTEGER,                                  -- broadcasts
    accepted_at   INTEGER,
    closed_at     INTEGER,
    closed_reason TEXT,
    created_at    INTEGER NOT NULL
);

INSERT INTO session_assignments (seq, id, session_id, mechanic_id, match_type, status, priority,
        match_score, offered_at, expires_at, active_from, accepted_at, closed_at, closed_reason,
        created_at)
    SELECT rowid, id, session_id, mechanic_id, match_type, status, priority, match_score,
           offered_at, expires_at, active_from, accepted_at, closed_at, closed_reason, created_at
    FROM session_assignments_v1 ORDER BY rowid;

-- What an offer was made on; never updated. Keyed by the assignment's seq, so an intake appends
-- to the end of this table instead of touching a page somewhere in its middle.
CREATE TABLE assignment_details (
    assignment_seq INTEGER PRIMARY KEY REFERENCES session_assignments (seq),
    match_reasons  TEXT NOT NULL DEFAULT '[]',
    metadata       TEXT NOT NULL DEFAULT '{}'               -- all of it but match_type
);

INSERT INTO assignment_details (assignment_seq, match_reasons, metadata)
    SELECT rowid, match_reasons, json_remove(metadata, '$.match_type')
    FROM session_assignments_v1 ORDER BY rowid;

DROP TABLE session_assignments_v1;

-- Exactly one winner per session, held by the database rather than by code.
CREATE UNIQUE INDEX assignments_one_accepted ON session_assignments (session_id)
    WHERE status = 'accepted';
-- By session only: offers change status often, and a session has a handful of rows.
CREATE INDEX assignments_by_session ON session_assignments (session_id);
-- A mechanic's open offers (his queue, withdrawal at clock-out) and his accepted sessions, in
-- two partial indexes: an offer that expires or is declined only leaves the first, and nothing
-- is written for the history a mechanic builds up.
CREATE INDEX assignments_open_by_mechanic ON session_assignments (mechanic_id)
    WHERE status IN ('queued', 'offered') AND mechanic_id IS NOT NULL;
CREATE INDEX assignments_accepted_by_mechanic ON session_assignments (mechanic_id)
    WHERE status = 'accepted' AND mechanic_id IS NOT NULL;
-- Due expiries: live targeted offers by deadline (an open broadcast has no deadline, so opening
-- one writes nothing here).
CREATE INDEX assignments_due ON session_assignments (expires_at)
    WHERE status = 'offered' AND expires_at IS NOT NULL;
-- Held broadcasts by the moment they open (the tick), and open broadcasts (every queue read).
CREATE INDEX assignments_broadcast_held ON session_assignments (active_from)
    WHERE status = 'queued' AND match_type = 'broadcast';
CREATE INDEX assignments_broadcast_open ON session_assignments (created_at)
    WHERE status = 'offered' AND match_type = 'broadcast';

-- SPEC §2's assignment whole, for anyone reading the file with SQL.
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           a.closed_at, a.closed_reason,
           json_set(d.metadata, '$.match_type', a.match_type) AS metadata, a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;
