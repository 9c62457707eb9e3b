-- Version 13 -> 14 on PostgreSQL, as on SQLite (migrations/0014_expiry_in_place.sql): an offer
-- the tick expires keeps closed_at and closed_reason NULL (implied: its deadline, 'timeout'), so
-- both backends store the same; the view shows the implied values. (PostgreSQL writes a new row
-- version on every UPDATE whatever its size; the step is for one meaning of the columns.) Copied
-- from schema_pg.sql. Never edit this file once a release has shipped it.

DROP VIEW session_assignments_full;

-- SPEC §2's assignment whole, for anyone reading the database with SQL. (jsonb spells the
-- metadata in its own canonical form, where SQLite's json_set keeps the stored spelling.)
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           CASE WHEN a.status = 'expired' AND a.closed_reason IS NULL THEN a.expires_at
                ELSE a.closed_at END AS closed_at,
           COALESCE(a.closed_reason, CASE WHEN a.status = 'expired' THEN 'timeout' END)
               AS closed_reason,
           (d.metadata::jsonb || jsonb_build_object('match_type', a.match_type))::text
               AS metadata,
           a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;
