-- Version 11 -> 12: each CHECK that lists more than two words, on the tables written on every
-- intake, offer, message and tick, lists the same words in pairs (schema.sql says why: SQLite
-- tests a longer list by building a temporary b-tree of it for every row it writes, about 24 of
-- them for one intake, nearly a third of its work). The words allowed do not change.
-- SQLite changes a CHECK only by rebuilding the table, as 0011 did: a new one is filled (its rows
-- keep their rowids, by which some lists order), the old one dropped with its indexes (and the
-- view over session_assignments) and the new one renamed, so the tables that refer to it still
-- do. Every statement below that creates something is copied from schema.sql, which a test
-- compares against an upgraded file. Never edit this file once a release has shipped it.

DROP VIEW session_assignments_full;

-- sessions

CREATE TABLE sessions_v12 (
    id                  TEXT PRIMARY KEY,
    intake_id           TEXT NOT NULL REFERENCES intakes (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('scheduled', 'pending')
                               OR status IN ('waiting', 'matched')
                               OR status IN ('completed', 'cancelled')),
    payment_method      TEXT NOT NULL
                        CHECK (payment_method IN ('free', 'credit') OR payment_method IN ('paid')),
    urgent              INTEGER NOT NULL DEFAULT 0,
    request_type        TEXT NOT NULL DEFAULT 'general'
                        CHECK (request_type IN ('general', 'brand_specialist')),
    requested_brands    TEXT NOT NULL DEFAULT '[]',
    preferred_mechanic_id TEXT REFERENCES mechanics (id),
    waiver_signed       INTEGER NOT NULL DEFAULT 1,
    payment_confirmed   INTEGER NOT NULL DEFAULT 1,
    matched_mechanic_id TEXT REFERENCES mechanics (id),
    metadata            TEXT NOT NULL DEFAULT '{}',
    created_at          INTEGER NOT NULL,
    released_at         INTEGER,
    matched_at          INTEGER,
    completed_at        INTEGER,
    cancelled_at        INTEGER,
    -- When a session still waiting long after its release was escalated (SPEC §5); reads show
    -- it as metadata.escalated_at. A column, so escalating writes an integer, not the metadata.
    escalated_at        INTEGER,
    -- When the customer was booked for (SPEC §14); the tick releases it ten minutes before.
    scheduled_for       INTEGER
);

INSERT INTO sessions_v12 (rowid, id, intake_id, status, payment_method, urgent, request_type,
        requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed,
        matched_mechanic_id, metadata, created_at, released_at, matched_at, completed_at,
        cancelled_at, escalated_at, scheduled_for)
    SELECT rowid, id, intake_id, status, payment_method, urgent, request_type, requested_brands,
           preferred_mechanic_id, waiver_signed, payment_confirmed, matched_mechanic_id, metadata,
           created_at, released_at, matched_at, completed_at, cancelled_at, escalated_at,
           scheduled_for
    FROM sessions ORDER BY rowid;

DROP TABLE sessions;
ALTER TABLE sessions_v12 RENAME TO sessions;

CREATE INDEX sessions_by_status ON sessions (status, created_at);
-- By intake: the foreign-key check when `pitwall prune` removes an intake (without it, a walk of
-- every session for each intake removed).
CREATE INDEX sessions_by_intake ON sessions (intake_id);
-- A mechanic's matched sessions: how busy he is (capacity), read on every accept and offer.
CREATE INDEX sessions_matched_by_mechanic ON sessions (matched_mechanic_id)
    WHERE status = 'matched';
-- Waiting sessions not escalated yet, by release time: the tick's escalation scan.
CREATE INDEX sessions_to_escalate ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NULL;
-- Escalated sessions still waiting: the console pins them, however many others are live.
CREATE INDEX sessions_escalated ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NOT NULL;
CREATE INDEX sessions_by_preferred ON sessions (preferred_mechanic_id, status)
    WHERE preferred_mechanic_id IS NOT NULL;
-- Scheduled sessions by their time: the tick's one query for those due for release, and the
-- console's list of bookings. Empty of everything else, so a tick with nothing due reads nothing.
CREATE INDEX sessions_scheduled_due ON sessions (scheduled_for) WHERE status = 'scheduled';

-- session_assignments

CREATE TABLE session_assignments_v12 (
    seq           INTEGER PRIMARY KEY,                      -- creation order; details hang off it
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id),
    mechanic_id   TEXT REFERENCES mechanics (id),          -- NULL while a broadcast is open
    -- The one source of metadata.match_type: assignment_details keeps the rest of the metadata
    -- and store::assignments puts match_type back when it reads an assignment.
    match_type    TEXT NOT NULL CHECK (match_type IN ('targeted', 'broadcast')),
    status        TEXT NOT NULL
                  CHECK (status IN ('queued', 'offered') OR status IN ('accepted', 'declined')
                         OR status IN ('expired', 'cancelled')),
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

INSERT INTO session_assignments_v12 (seq, id, session_id, mechanic_id, match_type, status,
        priority, match_score, offered_at, expires_at, active_from, accepted_at, closed_at,
        closed_reason, created_at)
    SELECT seq, id, session_id, mechanic_id, match_type, status, priority, match_score,
           offered_at, expires_at, active_from, accepted_at, closed_at, closed_reason, created_at
    FROM session_assignments ORDER BY seq;

DROP TABLE session_assignments;
ALTER TABLE session_assignments_v12 RENAME TO session_assignments;

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

-- customer_waitlist

CREATE TABLE customer_waitlist_v12 (
    id                   TEXT PRIMARY KEY,
    session_id           TEXT REFERENCES sessions (id),
    customer_name        TEXT NOT NULL,
    customer_email       TEXT,
    customer_phone       TEXT,
    notify_via           TEXT NOT NULL DEFAULT '["email"]',
    status               TEXT NOT NULL
                         CHECK (status IN ('waiting', 'notified')
                                OR status IN ('expired', 'cancelled')),
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    notified_at          INTEGER,
    notified_mechanic_id TEXT REFERENCES mechanics (id)
);

INSERT INTO customer_waitlist_v12 (rowid, id, session_id, customer_name, customer_email,
        customer_phone, notify_via, status, created_at, expires_at, notified_at,
        notified_mechanic_id)
    SELECT rowid, id, session_id, customer_name, customer_email, customer_phone, notify_via,
           status, created_at, expires_at, notified_at, notified_mechanic_id
    FROM customer_waitlist ORDER BY rowid;

DROP TABLE customer_waitlist;
ALTER TABLE customer_waitlist_v12 RENAME TO customer_waitlist;

CREATE INDEX waitlist_waiting ON customer_waitlist (expires_at) WHERE status = 'waiting';
CREATE INDEX waitlist_by_session ON customer_waitlist (session_id) WHERE session_id IS NOT NULL;
-- The newest entries (the console's list) read from the end, however many years lie behind them.
CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

-- notifications

CREATE TABLE notifications_v12 (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('waitlist_online', 'offer')
                           OR kind IN ('matched', 'escalation')),
    channel         TEXT NOT NULL
                    CHECK (channel IN ('email', 'sms') OR channel IN ('push', 'dispatcher')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    session_id      TEXT,
    waitlist_id     TEXT REFERENCES customer_waitlist (id),
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent') OR status IN ('dead', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    -- An offer's message names its offer: a relay that finds the offer no longer live when it
    -- takes the row (taken, expired, withdrawn, declined) skips it instead of sending a message
    -- that is no longer true. expires_at is the offer's deadline, carried in the payload.
    assignment_id   TEXT,
    expires_at      INTEGER,
    skip_reason     TEXT CHECK (skip_reason IN ('accepted', 'taken')
                                OR skip_reason IN ('declined', 'expired')
                                OR skip_reason IN ('withdrawn', 'cancelled')),
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);

INSERT INTO notifications_v12 (rowid, id, kind, channel, recipient, subject, body, session_id,
        waitlist_id, created_at, status, attempts, next_attempt_at, last_error, sent_at,
        lease_owner, lease_until, assignment_id, expires_at, skip_reason)
    SELECT rowid, id, kind, channel, recipient, subject, body, session_id, waitlist_id,
           created_at, status, attempts, next_attempt_at, last_error, sent_at, lease_owner,
           lease_until, assignment_id, expires_at, skip_reason
    FROM notifications ORDER BY rowid;

DROP TABLE notifications;
ALTER TABLE notifications_v12 RENAME TO notifications;

-- What a relay looks for: a channel's pending rows by when they are due (each channel is claimed
-- on its own, so a backlog on one never holds another's rows). Its first column also tells, in
-- one probe, whether a channel has messages waiting (one without a transport is said once).
CREATE INDEX notifications_pending_by_channel ON notifications (channel, next_attempt_at)
    WHERE status = 'pending';
-- A session's messages: what `pitwall prune` archives and removes with the session. By
-- waitlist entry: the foreign-key check when prune removes an entry.
CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notifications_by_waitlist ON notifications (waitlist_id)
    WHERE waitlist_id IS NOT NULL;

-- page_links

CREATE TABLE page_links_v12 (
    sha256        BLOB PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    kind          TEXT NOT NULL CHECK (kind IN ('offer', 'status')),
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    assignment_id TEXT,
    mechanic_id   TEXT,
    -- How the offer was answered through its link; the link shows only this afterwards.
    outcome       TEXT CHECK (outcome IN ('accepted', 'declined')
                              OR outcome IN ('taken', 'expired')
                              OR outcome IN ('at_capacity')),
    created_at    INTEGER NOT NULL,
    -- An offer's link names its offer and its mechanic; a status link names neither.
    CHECK ((kind = 'offer') = (assignment_id IS NOT NULL AND mechanic_id IS NOT NULL))
) WITHOUT ROWID;

INSERT INTO page_links_v12 (sha256, kind, session_id, assignment_id, mechanic_id, outcome,
        created_at)
    SELECT sha256, kind, session_id, assignment_id, mechanic_id, outcome, created_at
    FROM page_links ORDER BY sha256;

DROP TABLE page_links;
ALTER TABLE page_links_v12 RENAME TO page_links;

CREATE INDEX page_links_by_session ON page_links (session_id);

-- SPEC §2's assignment whole, for anyone reading the file with SQL.
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           a.closed_at, a.closed_reason,
           json_set(d.metadata, '$.match_type', a.match_type) AS metadata, a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;
