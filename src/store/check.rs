//! `pitwall check`: SQLite's own integrity check plus the domain invariants every engine
//! operation must preserve. Each rule is one query returning the offending ids.

use crate::model;
use crate::store::value::Value;
use crate::store::{Db, Sql};

/// One broken invariant, with the rows that break it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub ids: Vec<String>,
}

/// A rule's query takes no parameters.
const NO_PARAMETERS: &[i64] = &[];

/// (rule, query returning offending ids, what its `?N` stand for: the model's own numbers, so a
/// rule cannot drift from the engine that keeps it). Read together they are the invariants of
/// SPEC §2–§6.
const RULES: &[(&str, Sql<'static>, &[i64])] = &[
    (
        // A booking not released yet has none; one cancelled before its release never had one.
        "every session has exactly one broadcast",
        crate::sql!(
            "SELECT s.id FROM sessions s WHERE (SELECT COUNT(*) FROM session_assignments a \
         WHERE a.session_id = s.id AND a.match_type = 'broadcast') <> \
         CASE WHEN s.status = 'scheduled' OR (s.status = 'cancelled' \
           AND s.scheduled_for IS NOT NULL AND NOT EXISTS (SELECT 1 FROM session_assignments a \
           WHERE a.session_id = s.id)) THEN 0 ELSE 1 END"
        ),
        NO_PARAMETERS,
    ),
    (
        "a scheduled session has no offers",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE s.status = 'scheduled'"
        ),
        NO_PARAMETERS,
    ),
    (
        // The file's own latest time (its newest audit event) stands for now: a file written
        // on the manual clock is judged by its time, not the wall clock's.
        "no session stays scheduled past its time",
        crate::sql_each!(sqlite: ["SELECT id FROM sessions INDEXED BY sessions_scheduled_due WHERE status = 'scheduled' \
         AND scheduled_for <= (SELECT MAX(at) FROM events)"], postgres: ["SELECT id FROM sessions WHERE status = 'scheduled' \
         AND scheduled_for <= (SELECT MAX(at) FROM events)"]),
        NO_PARAMETERS,
    ),
    (
        "every assignment has its details",
        crate::sql!(
            "SELECT a.id FROM session_assignments a LEFT JOIN assignment_details d \
         ON d.assignment_seq = a.seq WHERE d.assignment_seq IS NULL"
        ),
        NO_PARAMETERS,
    ),
    (
        "at most one accepted assignment per session",
        crate::sql!(
            "SELECT session_id FROM session_assignments WHERE status = 'accepted' \
         GROUP BY session_id HAVING COUNT(*) > 1"
        ),
        NO_PARAMETERS,
    ),
    (
        "a matched or completed session has exactly one accepted assignment, by its mechanic",
        crate::sql!(
            "SELECT s.id FROM sessions s WHERE s.status IN ('matched', 'completed') AND ( \
           s.matched_mechanic_id IS NULL OR s.matched_at IS NULL \
           OR (SELECT COUNT(*) FROM session_assignments a WHERE a.session_id = s.id \
               AND a.status = 'accepted' AND a.mechanic_id = s.matched_mechanic_id) <> 1)"
        ),
        NO_PARAMETERS,
    ),
    (
        "an accepted assignment belongs to a matched, completed or cancelled session",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE a.status = 'accepted' AND (s.status NOT IN ('matched', 'completed', 'cancelled') \
           OR a.mechanic_id IS NULL OR a.accepted_at IS NULL)"
        ),
        NO_PARAMETERS,
    ),
    (
        "no live targeted offer on a session that is not waiting",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE a.match_type = 'targeted' AND ( \
           (a.status = 'offered' AND s.status <> 'waiting') \
           OR (a.status = 'queued' AND s.status <> 'pending'))"
        ),
        NO_PARAMETERS,
    ),
    (
        "no open broadcast on a session that is matched, completed or cancelled",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE a.match_type = 'broadcast' AND a.status IN ('queued', 'offered') \
           AND s.status NOT IN ('pending', 'waiting')"
        ),
        NO_PARAMETERS,
    ),
    (
        "a held broadcast has an opening time only once its session is released",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE a.match_type = 'broadcast' AND a.status = 'queued' \
           AND a.active_from IS NOT NULL AND s.status <> 'waiting'"
        ),
        NO_PARAMETERS,
    ),
    (
        "a live targeted offer has its mechanic, offer time and deadline",
        crate::sql!(
            "SELECT id FROM session_assignments WHERE match_type = 'targeted' AND status = 'offered' \
         AND (mechanic_id IS NULL OR offered_at IS NULL OR expires_at IS NULL)"
        ),
        NO_PARAMETERS,
    ),
    (
        "an expired, declined or cancelled assignment records when and why it closed, \
         unless it timed out at its deadline",
        crate::sql!(
            "SELECT id FROM session_assignments WHERE (status IN ('declined', 'cancelled') \
         AND (closed_at IS NULL OR closed_reason IS NULL)) OR (status = 'expired' \
         AND ((closed_at IS NULL) <> (closed_reason IS NULL) \
              OR (closed_reason IS NULL AND expires_at IS NULL)))"
        ),
        NO_PARAMETERS,
    ),
    (
        "a released session has its release time; a pending one has none",
        crate::sql!(
            "SELECT id FROM sessions WHERE (status IN ('waiting', 'matched', 'completed') \
         AND released_at IS NULL) OR (status = 'pending' AND released_at IS NOT NULL)"
        ),
        NO_PARAMETERS,
    ),
    (
        "a notified waitlist entry records when and by whom",
        crate::sql!(
            "SELECT id FROM customer_waitlist WHERE status = 'notified' \
         AND (notified_at IS NULL OR notified_mechanic_id IS NULL OR notified_at > expires_at)"
        ),
        NO_PARAMETERS,
    ),
    (
        "an entry that was never notified has no notification time",
        crate::sql!(
            "SELECT id FROM customer_waitlist WHERE status IN ('waiting', 'expired') \
         AND (notified_at IS NOT NULL OR notified_mechanic_id IS NOT NULL)"
        ),
        NO_PARAMETERS,
    ),
    (
        "a waitlist entry expires 24 hours after it was made",
        // (or at the end of time, 9999-12-31T23:59:59Z, where every deadline stops)
        crate::sql!(
            "SELECT id FROM customer_waitlist WHERE expires_at - created_at <> ?1 \
             AND expires_at <> ?2"
        ),
        &[
            model::WAITLIST_TTL.num_milliseconds(),
            model::END_OF_TIME_MILLIS,
        ],
    ),
    (
        "every waitlist notification belongs to a notified entry",
        crate::sql!(
            "SELECT n.id FROM notifications n LEFT JOIN customer_waitlist w \
         ON w.id = n.waitlist_id WHERE n.kind = 'waitlist_online' \
         AND (w.id IS NULL OR w.status <> 'notified')"
        ),
        NO_PARAMETERS,
    ),
    (
        "a sent notification has its time, and a pending one no time of sending",
        crate::sql!(
            "SELECT id FROM notifications WHERE (status = 'sent') <> (sent_at IS NOT NULL)"
        ),
        NO_PARAMETERS,
    ),
    (
        "is_available mirrors currently_on_shift",
        crate::sql!("SELECT id FROM mechanics WHERE is_available <> currently_on_shift"),
        NO_PARAMETERS,
    ),
    (
        "no mechanic is matched to more sessions than his capacity",
        crate::sql!(
            "SELECT s.matched_mechanic_id FROM sessions s JOIN mechanics m \
         ON m.id = s.matched_mechanic_id WHERE s.status = 'matched' \
         GROUP BY s.matched_mechanic_id HAVING COUNT(*) > MAX(m.max_active_sessions)"
        ),
        NO_PARAMETERS,
    ),
    (
        "no live or held targeted offer for a busy mechanic",
        crate::sql!(
            "SELECT a.id FROM session_assignments a JOIN mechanics m ON m.id = a.mechanic_id \
         WHERE a.match_type = 'targeted' AND a.status IN ('queued', 'offered') \
         AND (SELECT COUNT(*) FROM sessions s WHERE s.matched_mechanic_id = m.id \
              AND s.status = 'matched') >= m.max_active_sessions"
        ),
        NO_PARAMETERS,
    ),
    // Accounts and brands never change after a mechanic is added, so who he is now is who he
    // was when he woke the entry. Brands compare as the engine does, trimmed and without case
    // (SQLite's lower() folds ASCII only; a non-ASCII brand differing in case would be named
    // here although the engine matched it).
    (
        "a notified entry's mechanic could take its session",
        crate::sql_each!(
            sqlite: ["SELECT w.id FROM customer_waitlist w JOIN sessions s ON s.id = w.session_id \
         JOIN mechanics m ON m.id = w.notified_mechanic_id WHERE w.status = 'notified' \
         AND w.notified_at >= COALESCE((SELECT CAST(value AS BIGINT) FROM settings \
             WHERE key = 'waitlist_rule_since'), 0) AND ( \
           m.account_status <> 'approved' OR m.profile_completion_score < ?1 \
           OR (s.request_type = 'brand_specialist' AND (m.is_brand_specialist = 0 \
             OR NOT EXISTS (SELECT 1 FROM json_each(s.requested_brands) r, json_each(m.brand_specializations) b \
               WHERE lower(trim(r.value)) = lower(trim(b.value))))))"],
            postgres: ["SELECT w.id FROM customer_waitlist w JOIN sessions s ON s.id = w.session_id \
         JOIN mechanics m ON m.id = w.notified_mechanic_id WHERE w.status = 'notified' \
         AND w.notified_at >= COALESCE((SELECT CAST(value AS BIGINT) FROM settings \
             WHERE key = 'waitlist_rule_since'), 0) AND ( \
           m.account_status <> 'approved' OR m.profile_completion_score < ?1 \
           OR (s.request_type = 'brand_specialist' AND (m.is_brand_specialist = 0 \
             OR NOT EXISTS (SELECT 1 FROM json_array_elements_text(s.requested_brands::json) AS r(value), json_array_elements_text(m.brand_specializations::json) AS b(value) \
               WHERE lower(trim(r.value)) = lower(trim(b.value))))))"],
        ),
        &[model::MIN_PROFILE_COMPLETION],
    ),
    (
        "only a released session is escalated, after its release",
        crate::sql!(
            "SELECT id FROM sessions WHERE escalated_at IS NOT NULL \
         AND (released_at IS NULL OR escalated_at < released_at)"
        ),
        NO_PARAMETERS,
    ),
];

/// SQLite's integrity check: `None` when it says ok. (PostgreSQL checks its own pages; it has no
/// such statement, and its text answers "ok".)
pub fn integrity(conn: &Db) -> crate::store::Result<Option<String>> {
    let mut stmt = conn
        .prepare(crate::sql_each!(sqlite: ["PRAGMA integrity_check"], postgres: ["SELECT 'ok'"]))?;
    let lines: Vec<String> = stmt
        .query_map(crate::params![], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(if lines == ["ok"] {
        None
    } else {
        Some(lines.join("; "))
    })
}

/// Rows whose foreign key points nowhere (SQLite can hold them if written with the check off;
/// PostgreSQL enforces every key on every write, so its text lists none).
pub fn foreign_keys(conn: &Db) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare(crate::sql_each!(sqlite: ["PRAGMA foreign_key_check"], postgres: ["SELECT '', 0 WHERE false"]))?;
    let rows = stmt.query_map(crate::params![], |r| {
        Ok(format!(
            "{} row {}",
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?
        ))
    })?;
    rows.collect()
}

/// Every domain rule with the ids that break it; empty when all hold.
pub fn invariants(conn: &Db) -> crate::store::Result<Vec<Violation>> {
    let mut out = Vec::new();
    for (rule, sql, parameters) in RULES {
        let mut stmt = conn.prepare(*sql)?;
        let ids: Vec<String> = stmt
            .query_map(integers(parameters), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !ids.is_empty() {
            out.push(Violation { rule, ids });
        }
    }
    Ok(out)
}

fn integers(values: &[i64]) -> Vec<Value> {
    values.iter().map(|&n| Value::Integer(n)).collect()
}

/// The rules checked, for the report.
pub fn rules() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(rule, _, _)| *rule)
}
