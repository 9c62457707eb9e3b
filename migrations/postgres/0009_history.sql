-- Version 8 -> 9 on PostgreSQL (migrations/0009_history.sql is SQLite's, and says why). The
-- notifications' insertion order gets an index of its own here: SQLite's rowid is its table's
-- key, PostgreSQL's rowid column is not. Every definition below matches schema_pg.sql, which a
-- test compares against a database upgraded from version 6. Never edit this file once a
-- release has shipped it.

DROP INDEX assignments_accepted_by_mechanic;

CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

-- The foreign-key checks of a prune: removing an intake looks up its session, removing a
-- waitlist entry its messages.
CREATE INDEX sessions_by_intake ON sessions (intake_id);

CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notifications_by_waitlist ON notifications (waitlist_id)
    WHERE waitlist_id IS NOT NULL;
CREATE INDEX notifications_by_rowid ON notifications (rowid);

CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;
