-- Version 7 -> 8: history that can be archived and pruned, and reads that do not grow with it.
-- A session's events and messages are found by their session (what `pitwall prune` archives and
-- removes with it); the console's newest waitlist entries read from the end of an index. A
-- mechanic's accepted sessions in play are found from sessions_matched_by_mechanic now, so the
-- index of every accepted assignment (which grew with history and served nothing else) goes.
-- Every statement below that creates something is copied from schema.sql, which a test
-- compares against an upgraded file. Never edit this file once a release has shipped it.

DROP INDEX assignments_accepted_by_mechanic;

CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;

CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;
