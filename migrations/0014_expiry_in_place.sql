-- Version 13 -> 14: an offer the tick expires keeps closed_at and closed_reason NULL (implied:
-- its deadline, 'timeout'), so expiring it overwrites its row in place instead of growing it by
-- 13 bytes on a page its intake had filled (SQLite then moves the row and splits the page: 11 M
-- of the instructions of a tick expiring 10,002 offers). Rows already expired keep what they
-- hold and read the same. Only the view over the table changes: it shows the implied values.
-- Every statement below is copied from schema.sql, which a test compares against an upgraded
-- file. Never edit this file once a release has shipped it.

DROP VIEW session_assignments_full;

-- SPEC §2's assignment whole, for anyone reading the file with SQL. An offer the tick expired
-- keeps closed_at and closed_reason NULL, so its row keeps its size (overwritten in place, not
-- moved): it closed at its deadline, for 'timeout', and is shown so here and by pitwall.
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           CASE WHEN a.status = 'expired' AND a.closed_reason IS NULL THEN a.expires_at
                ELSE a.closed_at END AS closed_at,
           COALESCE(a.closed_reason, CASE WHEN a.status = 'expired' THEN 'timeout' END)
               AS closed_reason,
           json_set(d.metadata, '$.match_type', a.match_type) AS metadata, a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;
