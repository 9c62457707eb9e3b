-- Version 2 -> 3: dispatch rules (SPEC §5, §6). Mechanics get a capacity; sessions remember when
-- they were escalated; a table counts unanswered offers; the escalation delay becomes a setting.
-- Every statement below that creates something is copied from schema.sql, which a test compares
-- against a file upgraded from version 2. Never edit this file once a release has shipped it.

ALTER TABLE mechanics ADD COLUMN max_active_sessions INTEGER NOT NULL DEFAULT 1
                             CHECK (max_active_sessions BETWEEN 1 AND 10000);
-- The roster is read whole now (the why-not list names the ineligible too).
DROP INDEX mechanics_eligible;

ALTER TABLE sessions ADD COLUMN escalated_at INTEGER;
CREATE INDEX sessions_matched_by_mechanic ON sessions (matched_mechanic_id)
    WHERE status = 'matched';
CREATE INDEX sessions_to_escalate ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NULL;

INSERT OR IGNORE INTO settings (key, value) VALUES ('escalate_after_seconds', '600');

CREATE TABLE unanswered_offers (
    mechanic_id TEXT PRIMARY KEY REFERENCES mechanics (id),
    streak      INTEGER NOT NULL CHECK (streak > 0)
) WITHOUT ROWID;
