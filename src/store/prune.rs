//! Removing history (`pitwall prune`, the `[retention]` setting): finished sessions with every
//! row that belongs to them, then old messages and audit rows that belong to no session. Each
//! function is one bounded step, for a transaction of its own: a batch of sessions found and
//! removed by index, or a window of the log walked by id, never a scan of the whole history
//! under the write lock.

use crate::store::Sql;
use crate::store::db::{Db, params};

use super::to_json;

/// Where a walk of finished sessions stands: after this (created_at, id), in index order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

/// The next sessions of `status` (completed or cancelled) made before `cutoff`, after `cursor`
/// in creation order, at most `limit`: (id, created_at, whether it finished before the cutoff
/// and so goes). Those that finished later are passed over, and the cursor moves past them too.
/// A session is made before it finishes, so `sessions_by_status` (status, created_at) bounds
/// the walk to those made before the cutoff. A session's messages go with it whatever their
/// state: one still unsent a retention period after its session ended says nothing true any
/// more (and the archive keeps it).
pub fn finished_batch(
    conn: &Db,
    status: &str,
    cutoff: i64,
    cursor: &Cursor,
    limit: usize,
) -> crate::store::Result<Vec<(String, i64, bool)>> {
    let mut stmt = conn.prepare_cached(FINISHED_BATCH)?;
    let rows = stmt.query_map(
        params![status, cutoff, cursor.created_at, cursor.id, limit as i64],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1)),
    )?;
    rows.collect()
}

pub const FINISHED_BATCH: Sql<'static> = crate::sql_each!(sqlite: ["SELECT s.id, s.created_at, \
    CASE WHEN COALESCE(s.completed_at, s.cancelled_at, s.created_at) < ?2 THEN 1 ELSE 0 END \
    FROM sessions s INDEXED BY sessions_by_status \
    WHERE s.status = ?1 AND s.created_at < ?2 AND s.created_at >= ?3 \
      AND (s.created_at > ?3 OR s.id > ?4) \
    ORDER BY s.created_at, s.id LIMIT ?5"], postgres: ["SELECT s.id, s.created_at, \
    CASE WHEN COALESCE(s.completed_at, s.cancelled_at, s.created_at) < $2 THEN 1 ELSE 0 END \
    FROM sessions s \
    WHERE s.status = $1 AND s.created_at < $2 AND s.created_at >= $3 \
      AND (s.created_at > $3 OR s.id > $4) \
    ORDER BY s.created_at, s.id LIMIT $5"]);

/// What one batch removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub sessions: u64,
    pub assignments: u64,
    pub events: u64,
    pub notifications: u64,
    pub waitlist: u64,
}

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, other: Removed) {
        self.sessions += other.sessions;
        self.assignments += other.assignments;
        self.events += other.events;
        self.notifications += other.notifications;
        self.waitlist += other.waitlist;
    }
}

/// Removes sessions with their intakes, assignments and details, events, messages and waitlist
/// entries, children first (foreign keys hold at every statement). Each statement finds its rows
/// by the session's index.
pub fn delete_sessions(conn: &Db, ids: &[&str]) -> crate::store::Result<Removed> {
    if ids.is_empty() {
        return Ok(Removed::default());
    }
    let list = to_json(&ids);
    let run = |sql: Sql<'_>| -> crate::store::Result<u64> {
        Ok(conn.prepare_cached(sql)?.execute([list.as_str()])? as u64)
    };
    let notifications = run(crate::sql_each!(sqlite: ["DELETE FROM notifications \
         WHERE session_id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM notifications \
         WHERE session_id IN (SELECT json_array_elements_text($1::json))"]))?;
    let events = run(
        crate::sql_each!(sqlite: ["DELETE FROM events WHERE session_id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM events WHERE session_id IN (SELECT json_array_elements_text($1::json))"]),
    )?;
    let waitlist = run(crate::sql_each!(sqlite: ["DELETE FROM customer_waitlist \
         WHERE session_id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM customer_waitlist \
         WHERE session_id IN (SELECT json_array_elements_text($1::json))"]))?;
    run(
        crate::sql_each!(sqlite: ["DELETE FROM assignment_details WHERE assignment_seq IN \
         (SELECT seq FROM session_assignments \
          WHERE session_id IN (SELECT value FROM json_each(?1)))"], postgres: ["DELETE FROM assignment_details WHERE assignment_seq IN \
         (SELECT seq FROM session_assignments \
          WHERE session_id IN (SELECT json_array_elements_text($1::json)))"]),
    )?;
    let assignments = run(crate::sql_each!(sqlite: ["DELETE FROM session_assignments \
         WHERE session_id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM session_assignments \
         WHERE session_id IN (SELECT json_array_elements_text($1::json))"]))?;
    let intakes: Vec<String> = conn
        .prepare_cached(
            crate::sql_each!(sqlite: ["SELECT intake_id FROM sessions WHERE id IN (SELECT value FROM json_each(?1))"], postgres: ["SELECT intake_id FROM sessions WHERE id IN (SELECT json_array_elements_text($1::json))"]),
        )?
        .query_map([list.as_str()], |r| r.get(0))?
        .collect::<crate::store::Result<_>>()?;
    // Which intake token made a session (the HTTP API's ownership): nothing to keep once the
    // session is gone, and a foreign key to it.
    run(
        crate::sql_each!(sqlite: ["DELETE FROM api_session_owners WHERE session_id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM api_session_owners WHERE session_id IN (SELECT json_array_elements_text($1::json))"]),
    )?;
    let sessions = run(
        crate::sql_each!(sqlite: ["DELETE FROM sessions WHERE id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM sessions WHERE id IN (SELECT json_array_elements_text($1::json))"]),
    )?;
    conn.prepare_cached(crate::sql_each!(sqlite: ["DELETE FROM intakes WHERE id IN (SELECT value FROM json_each(?1))"], postgres: ["DELETE FROM intakes WHERE id IN (SELECT json_array_elements_text($1::json))"]))?
        .execute([to_json(&intakes)])?;
    Ok(Removed {
        sessions,
        assignments,
        events,
        notifications,
        waitlist,
    })
}

/// The newest event's id and message's rowid: where the walks of [`sweep_events`] and
/// [`sweep_notifications`] end (rows written after a prune started are not old).
pub fn log_ends(conn: &Db) -> crate::store::Result<(i64, i64)> {
    conn.query_row(
        crate::sql!(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM events), \
                (SELECT COALESCE(MAX(rowid), 0) FROM notifications)"
        ),
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Removes the audit rows in ids (`from`, `to`] older than `cutoff` that belong to no session
/// (or to one that is gone): what a session still has is removed with it. Returns how many
/// went, and the first id a later sweep must look at again (the first row kept for being
/// young), if any.
pub fn sweep_events(
    conn: &Db,
    from: i64,
    to: i64,
    cutoff: i64,
) -> crate::store::Result<(u64, Option<i64>)> {
    const NO_SESSION: &str = "(session_id IS NULL OR NOT EXISTS \
        (SELECT 1 FROM sessions s WHERE s.id = events.session_id))";
    let young: Option<i64> = conn
        .prepare_cached(crate::sql!(
            "SELECT MIN(id) FROM events WHERE id > ?1 AND id <= ?2 AND at >= ?3 AND ",
            NO_SESSION
        ))?
        .query_row(params![from, to, cutoff], |r| r.get(0))?;
    let removed = conn
        .prepare_cached(crate::sql!(
            "DELETE FROM events WHERE id > ?1 AND id <= ?2 AND at < ?3 AND ",
            NO_SESSION
        ))?
        .execute(params![from, to, cutoff])?;
    Ok((removed as u64, young))
}

/// Removes the messages in rowids (`from`, `to`] that were dealt with (sent, dead or skipped)
/// before `cutoff` and belong to no session (or to one that is gone). Returns how many went,
/// and the first rowid a later sweep must look at again (a message kept for being young or
/// still pending), if any.
pub fn sweep_notifications(
    conn: &Db,
    from: i64,
    to: i64,
    cutoff: i64,
) -> crate::store::Result<(u64, Option<i64>)> {
    const NO_SESSION: &str = "(session_id IS NULL OR NOT EXISTS \
        (SELECT 1 FROM sessions s WHERE s.id = notifications.session_id))";
    let kept: Option<i64> = conn
        .prepare_cached(crate::sql!(
            "SELECT MIN(rowid) FROM notifications WHERE rowid > ?1 AND rowid <= ?2 \
             AND (status = 'pending' OR created_at >= ?3) AND ",
            NO_SESSION
        ))?
        .query_row(params![from, to, cutoff], |r| r.get(0))?;
    let removed = conn
        .prepare_cached(crate::sql!(
            "DELETE FROM notifications WHERE rowid > ?1 AND rowid <= ?2 \
             AND status IN ('sent', 'dead', 'skipped') AND created_at < ?3 AND ",
            NO_SESSION
        ))?
        .execute(params![from, to, cutoff])?;
    Ok((removed as u64, kept))
}

/// Gives the space of removed rows back, and says what was done (each backend its own way:
/// [`Db::reclaim_space`]).
pub fn vacuum(conn: &Db) -> crate::store::Result<String> {
    conn.reclaim_space().map(str::to_string)
}
