-- Version 6 -> 7 on PostgreSQL (migrations/0007_delivery_truth.sql is SQLite's): offer messages
-- name their offer and deadline, and a row whose offer is no longer live ends `skipped` with the
-- reason. Every definition below matches schema_pg.sql, which a test compares against a database
-- upgraded from version 6. Never edit this file once a release has shipped it.

ALTER TABLE notifications
    ADD COLUMN assignment_id TEXT COLLATE "C",
    ADD COLUMN expires_at BIGINT,
    ADD COLUMN skip_reason TEXT COLLATE "C" CHECK (skip_reason IN ('accepted', 'taken', 'declined',
                                                                   'expired', 'withdrawn', 'cancelled')),
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    ADD CONSTRAINT notifications_skipped_has_reason
        CHECK ((status = 'skipped') = (skip_reason IS NOT NULL));

DROP INDEX notifications_due;
DROP INDEX notifications_pending_by_channel;
CREATE INDEX notifications_pending_by_channel ON notifications (channel, next_attempt_at)
    WHERE status = 'pending';

-- An offer message still waiting is tied to its offer (see the SQLite step).
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
