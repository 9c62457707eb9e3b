-- Version 2 -> 3: dispatch rules (SPEC §5, §6). Mechanics get a capacity; sessions remember when
-- they were escalated; a table counts unanswered offers; the escalation delay becomes a setting.
-- Every statement below that creates something is copied from schema.sql, which a test compares
-- against a file upgraded from version 2. Never edit this file once a release has shipped it.

ALTER TABLE mechanics ADD COLUMN max_active_sessions INTEGER NOT NULL DEFAULT 1
                             CHECK (max_active_sessions BETWEEN 1 AND 10000);
-- Version 2 set no limit: a mechanic holding several sessions keeps room for what he holds
-- (he takes no more until he is under it), rather than starting over his capacity.
UPDATE mechanics SET max_active_sessions = MIN(10000,
        (SELECT COUNT(*) FROM sessions s WHERE s.matched_mechanic_id = mechanics.id
           AND s.status = 'matched'))
    WHERE (SELECT COUNT(*) FROM sessions s WHERE s.matched_mechanic_id = mechanics.id
           AND s.status = 'matched') > 1;
-- The roster is read whole now (the why-not list names the ineligible too).
DROP INDEX mechanics_eligible;

ALTER TABLE sessions ADD COLUMN escalated_at INTEGER;
CREATE INDEX sessions_matched_by_mechanic ON sessions (matched_mechanic_id)
    WHERE status = 'matched';
CREATE INDEX sessions_to_escalate ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NULL;
CREATE INDEX sessions_escalated ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NOT NULL;

-- A busy mechanic holds no live or held targeted offer (SPEC §5): withdrawn as an accept that
-- fills his last place would. Their sessions' broadcasts open when the tick reaches them.
UPDATE session_assignments
    SET status = 'expired', closed_reason = 'busy',
        closed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE match_type = 'targeted' AND status IN ('queued', 'offered')
      AND mechanic_id IN (
        SELECT s.matched_mechanic_id FROM sessions s JOIN mechanics m
            ON m.id = s.matched_mechanic_id
        WHERE s.status = 'matched' GROUP BY s.matched_mechanic_id
        HAVING COUNT(*) >= MAX(m.max_active_sessions));

INSERT OR IGNORE INTO settings (key, value) VALUES ('escalate_after_seconds', '600');
-- Entries woken before this upgrade were woken by any clock-in (version 2's rule).
INSERT OR IGNORE INTO settings (key, value)
    VALUES ('waitlist_rule_since', CAST(CAST(unixepoch('subsec') * 1000 AS INTEGER) AS TEXT));

CREATE TABLE unanswered_offers (
    mechanic_id TEXT PRIMARY KEY REFERENCES mechanics (id),
    streak      INTEGER NOT NULL CHECK (streak > 0)
) WITHOUT ROWID;
