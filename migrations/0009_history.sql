-- Version 8 -> 9: history that can be archived and pruned, and reads that do not grow with it.
-- A session's events and messages are found by their session (what `pitwall prune` archives and
-- removes with it), and what the foreign-key checks of its deletes look up is indexed; the
-- console's newest waitlist entries read from the end of an index. A
-- mechanic's accepted sessions in play are found from sessions_matched_by_mechanic now, so the
-- index of every accepted assignment (which grew with history and served nothing else) goes.
-- Every statement below that creates something is copied from schema.sql, which a test
-- compares against an upgraded file. Never edit this file once a release has shipped it.

DROP INDEX assignments_accepted_by_mechanic;

CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

-- The foreign-key checks of a prune: removing an intake looks up its session, removing a
-- waitlist entry its messages.
CREATE INDEX sessions_by_intake ON sessions (intake_id);

CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notifications_by_waitlist ON notifications (waitlist_id)
    WHERE waitlist_id IS NOT NULL;

CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;
