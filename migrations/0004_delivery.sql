-- Version 3 -> 4: delivery (SPEC §12). The outbox gains kinds, subjects, delivery state and a
-- lease; mechanics say where their offers go. Every statement below that creates something is
-- copied from schema.sql, which a test compares against a file upgraded from version 3. Never
-- edit this file once a release has shipped it.

-- SPEC §2's default: sms when a phone is known, else email.
ALTER TABLE mechanics ADD COLUMN notify_via TEXT NOT NULL DEFAULT '["email"]';
UPDATE mechanics SET notify_via = '["sms"]' WHERE phone IS NOT NULL AND trim(phone) <> '';

CREATE TABLE notifications_v4 (
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
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER
);

-- Rows written before pitwall could deliver were never sent, and "a mechanic is online now"
-- hours or days late would mislead the customer: they are carried as `dead` with the reason,
-- never claimed as sent and never sent late. Their integer ids become 'v3-<id>'.
INSERT INTO notifications_v4 (id, kind, channel, recipient, subject, body, session_id,
                              waitlist_id, created_at, status, attempts, next_attempt_at,
                              last_error)
SELECT 'v3-' || n.id, 'waitlist_online', n.channel, n.recipient, 'A mechanic is online now',
       n.message, w.session_id, n.waitlist_id, n.created_at, 'dead', 0, n.created_at,
       'not sent: written before pitwall delivered notifications (upgrade to schema 4)'
FROM notifications n LEFT JOIN customer_waitlist w ON w.id = n.waitlist_id;

DROP TABLE notifications;
ALTER TABLE notifications_v4 RENAME TO notifications;

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
-- Which channels have messages waiting (a channel without a transport is said once): one probe
-- per channel, however large the backlog.
CREATE INDEX notifications_pending_by_channel ON notifications (channel) WHERE status = 'pending';
