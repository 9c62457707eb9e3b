-- Version 6 -> 7: what leaves must be true. An offer's message names its offer and deadline, so
-- a relay can skip one whose offer is no longer live (`skipped`, with the reason) instead of
-- sending it. SQLite changes a CHECK only by rebuilding the table; src/store/migrate.rs runs
-- this step with foreign keys off and checks them before committing. Every statement below that
-- creates something is copied from schema.sql, which a test compares against an upgraded file.
-- Never edit this file once a release has shipped it.

CREATE TABLE notifications_v7 (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('waitlist_online', 'offer', 'matched', 'escalation')),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'dispatcher')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    session_id      TEXT,
    waitlist_id     TEXT REFERENCES customer_waitlist (id),
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    assignment_id   TEXT,
    expires_at      INTEGER,
    skip_reason     TEXT CHECK (skip_reason IN ('accepted', 'taken', 'declined', 'expired',
                                                'withdrawn', 'cancelled')),
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);

-- rowid kept: feeds list the outbox in insertion order.
INSERT INTO notifications_v7 (rowid, id, kind, channel, recipient, subject, body, session_id,
                              waitlist_id, created_at, status, attempts, next_attempt_at,
                              last_error, sent_at, lease_owner, lease_until)
SELECT rowid, id, kind, channel, recipient, subject, body, session_id, waitlist_id, created_at,
       status, attempts, next_attempt_at, last_error, sent_at, lease_owner, lease_until
FROM notifications ORDER BY rowid;

DROP TABLE notifications;
ALTER TABLE notifications_v7 RENAME TO notifications;

CREATE INDEX notifications_pending_by_channel ON notifications (channel, next_attempt_at)
    WHERE status = 'pending';

-- An offer message still waiting is tied to its offer, the targeted offer of its session to the
-- mechanic it is addressed to (by phone, email, or id for push), so the relay judges it too.
UPDATE notifications SET
    assignment_id = (
        SELECT a.id FROM session_assignments a JOIN mechanics m ON m.id = a.mechanic_id
        WHERE a.session_id = notifications.session_id AND a.match_type = 'targeted'
          AND notifications.recipient IN (m.phone, m.email, m.id)
        ORDER BY a.created_at DESC LIMIT 1)
WHERE kind = 'offer' AND status = 'pending';
UPDATE notifications SET
    expires_at = (SELECT a.expires_at FROM session_assignments a
                  WHERE a.id = notifications.assignment_id)
WHERE assignment_id IS NOT NULL;
