-- Version 12 -> 13: session_assignments.status allows the same six words, its CHECK written as
-- one comparison per word, the tick's words first (schema.sql says why: the pairs of version 12
-- still cost a numeric conversion and two comparisons each, about 1,500 instructions per offer a
-- tick expires). SQLite changes a CHECK only by rebuilding the table, as 0011 and 0012 did: a new
-- one is filled (its rows keep their rowids), the old one dropped with its indexes (and the view
-- over it) and the new one renamed, so assignment_details still refers to session_assignments.
-- Every statement below that creates something is copied from schema.sql, which a test compares
-- against an upgraded file. Never edit this file once a release has shipped it.

DROP VIEW session_assignments_full;

CREATE TABLE session_assignments_v13 (
    seq           INTEGER PRIMARY KEY,                      -- creation order; details hang off it
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id),
    mechanic_id   TEXT REFERENCES mechanics (id),          -- NULL while a broadcast is open
    -- The one source of metadata.match_type: assignment_details keeps the rest of the metadata
    -- and store::assignments puts match_type back when it reads an assignment.
    match_type    TEXT NOT NULL CHECK (match_type IN ('targeted', 'broadcast')),
    -- One comparison per word, the tick's two first, rather than pairs: a pair costs a numeric
    -- conversion of the word (the IN operator's NULL test) and two comparisons, and 'expired',
    -- the tick's commonest write, was in the third; `status = 'expired'` settles it in one.
    status        TEXT NOT NULL
                  CHECK (status = 'expired' OR status = 'offered' OR status = 'queued'
                         OR status = 'accepted' OR status = 'declined' OR status = 'cancelled'),
    priority      TEXT NOT NULL CHECK (priority IN ('high', 'normal') OR priority IN ('low')),
    match_score   INTEGER,
    offered_at    INTEGER,
    expires_at    INTEGER,                                  -- targeted offers
    active_from   INTEGER,                                  -- broadcasts
    accepted_at   INTEGER,
    closed_at     INTEGER,
    closed_reason TEXT,
    created_at    INTEGER NOT NULL
);

INSERT INTO session_assignments_v13 (seq, id, session_id, mechanic_id, match_type, status,
        priority, match_score, offered_at, expires_at, active_from, accepted_at, closed_at,
        closed_reason, created_at)
    SELECT seq, id, session_id, mechanic_id, match_type, status, priority, match_score,
           offered_at, expires_at, active_from, accepted_at, closed_at, closed_reason, created_at
    FROM session_assignments ORDER BY seq;

DROP TABLE session_assignments;
ALTER TABLE session_assignments_v13 RENAME TO session_assignments;

-- Exactly one winner per session, held by the database rather than by code.
CREATE UNIQUE INDEX assignments_one_accepted ON session_assignments (session_id)
    WHERE status = 'accepted';
-- By session only: offers change status often, and a session has a handful of rows.
CREATE INDEX assignments_by_session ON session_assignments (session_id);
-- A mechanic's open offers (his queue, withdrawal at clock-out): an offer that expires or is
-- declined leaves it, so it holds what is in play, not the history a mechanic builds up. (His
-- accepted sessions still in play are found from sessions_matched_by_mechanic.)
CREATE INDEX assignments_open_by_mechanic ON session_assignments (mechanic_id)
    WHERE status IN ('queued', 'offered') AND mechanic_id IS NOT NULL;
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
