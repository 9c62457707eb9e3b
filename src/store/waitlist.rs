//! The customer waitlist.

use crate::store::Sql;
use crate::store::db::{Db, OptionalExtension, Row, params};
use chrono::{DateTime, Utc};

use super::to_json;
use crate::clock::{from_millis, to_millis};
use crate::model::{Channel, WaitlistEntry};

const COLUMNS: &str = "id, session_id, customer_name, customer_email, customer_phone, notify_via, \
    status, created_at, expires_at, notified_at, notified_mechanic_id";

fn from_row(r: &Row<'_>) -> crate::store::Result<WaitlistEntry> {
    let via: String = r.get(5)?;
    let notify_via: Vec<Channel> =
        serde_json::from_str(&via).map_err(|e| crate::store::Error::conversion(5, e))?;
    Ok(WaitlistEntry {
        id: r.get(0)?,
        session_id: r.get(1)?,
        customer_name: r.get(2)?,
        customer_email: r.get(3)?,
        customer_phone: r.get(4)?,
        notify_via,
        status: r.get(6)?,
        created_at: from_millis(r.get(7)?),
        expires_at: from_millis(r.get(8)?),
        notified_at: r.get::<_, Option<i64>>(9)?.map(from_millis),
        notified_mechanic_id: r.get(10)?,
    })
}

pub fn insert(conn: &Db, e: &WaitlistEntry) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO customer_waitlist (",
        COLUMNS,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        e.id,
        e.session_id,
        e.customer_name,
        e.customer_email,
        e.customer_phone,
        to_json(&e.notify_via),
        e.status,
        to_millis(e.created_at),
        to_millis(e.expires_at),
        e.notified_at.map(to_millis),
        e.notified_mechanic_id,
    ])?;
    Ok(())
}

pub fn get(conn: &Db, id: &str) -> crate::store::Result<Option<WaitlistEntry>> {
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM customer_waitlist WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

/// The entries of many sessions, oldest first (prune's archive).
pub fn for_sessions(conn: &Db, sessions: &[&str]) -> crate::store::Result<Vec<WaitlistEntry>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM customer_waitlist INDEXED BY waitlist_by_session \
         WHERE session_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id"], postgres: ["SELECT ", COLUMNS, " FROM customer_waitlist \
    WHERE session_id IN (SELECT json_array_elements_text($1::json)) ORDER BY created_at, id"]))?;
    let rows = stmt.query_map([to_json(&sessions)], from_row)?;
    rows.collect()
}

pub fn exists(conn: &Db, id: &str) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!("SELECT 1 FROM customer_waitlist WHERE id = ?1"))?
        .exists([id])
}

/// The newest entries, from the end of `waitlist_recent`: however long the history behind
/// them, a list reads `limit` rows.
pub const LIST: Sql<'static> = crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM customer_waitlist INDEXED BY waitlist_recent \
         ORDER BY created_at DESC, id DESC LIMIT ?1"], postgres: ["SELECT ", COLUMNS, " FROM customer_waitlist \
    ORDER BY created_at DESC, id DESC LIMIT $1"]);

/// Entries newest first, at most `limit`.
pub fn list(conn: &Db, limit: usize) -> crate::store::Result<Vec<WaitlistEntry>> {
    let mut stmt = conn.prepare_cached(LIST)?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

/// Waiting entries that have not expired at `now`, oldest first: by `waitlist_waiting`, which
/// holds the waiting ones only. (Left to itself the planner walks `waitlist_recent` to save the
/// sort, and so every entry ever made.)
pub const WAITING: Sql<'static> = crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM customer_waitlist INDEXED BY waitlist_waiting \
         WHERE status = 'waiting' AND expires_at > ?1 ORDER BY created_at, id"], postgres: ["SELECT ", COLUMNS, " FROM customer_waitlist \
    WHERE status = 'waiting' AND expires_at > $1 ORDER BY created_at, id"]);

pub fn waiting(conn: &Db, now: DateTime<Utc>) -> crate::store::Result<Vec<WaitlistEntry>> {
    let mut stmt = conn.prepare_cached(WAITING)?;
    let rows = stmt.query_map([to_millis(now)], from_row)?;
    rows.collect()
}

pub fn mark_notified(
    conn: &Db,
    id: &str,
    mechanic: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    let n = conn
        .prepare_cached(crate::sql!(
            "UPDATE customer_waitlist SET status = 'notified', notified_at = ?3, \
             notified_mechanic_id = ?2 WHERE id = ?1 AND status = 'waiting' AND expires_at > ?3"
        ))?
        .execute(params![id, mechanic, to_millis(now)])?;
    Ok(n == 1)
}

pub const EXPIRE_DUE: Sql<'static> = crate::sql!(
    "UPDATE customer_waitlist SET status = 'expired' \
    WHERE status = 'waiting' AND expires_at <= ?1 RETURNING id"
);

pub fn expire_due(conn: &Db, now: DateTime<Utc>) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(EXPIRE_DUE)?;
    let rows = stmt.query_map([to_millis(now)], |r| r.get(0))?;
    let mut ids: Vec<String> = rows.collect::<crate::store::Result<_>>()?;
    ids.sort();
    Ok(ids)
}

pub fn cancel(conn: &Db, id: &str) -> crate::store::Result<bool> {
    let n = conn
        .prepare_cached(crate::sql!(
            "UPDATE customer_waitlist SET status = 'cancelled' WHERE id = ?1 AND status = 'waiting'"
        ))?
        .execute([id])?;
    Ok(n == 1)
}

/// Cancels the waiting entries of a session (it was cancelled); returns their ids.
pub fn cancel_for_session(conn: &Db, session: &str) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "UPDATE customer_waitlist SET status = 'cancelled' \
         WHERE session_id = ?1 AND status = 'waiting' RETURNING id"
    ))?;
    let rows = stmt.query_map([session], |r| r.get(0))?;
    rows.collect()
}
