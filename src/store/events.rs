//! The append-only audit log: one row per state change, written in the same transaction as the
//! change itself, so the log never claims something that was rolled back.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::clock::to_millis;

/// Who and what an event touched; unset ids stay NULL.
#[derive(Debug, Default, Clone, Copy)]
pub struct Subject<'a> {
    pub session: Option<&'a str>,
    pub mechanic: Option<&'a str>,
    pub assignment: Option<&'a str>,
    pub waitlist: Option<&'a str>,
}

pub fn record(
    conn: &Connection,
    at: DateTime<Utc>,
    kind: &str,
    subject: Subject<'_>,
    detail: Option<&serde_json::Value>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (at, kind, session_id, mechanic_id, assignment_id, waitlist_id, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        to_millis(at),
        kind,
        subject.session,
        subject.mechanic,
        subject.assignment,
        subject.waitlist,
        detail.map(|d| d.to_string()),
    ])?;
    Ok(())
}

/// True when nothing was ever recorded: a database no one has used yet.
pub fn none_yet(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(!conn
        .prepare_cached("SELECT 1 FROM events LIMIT 1")?
        .exists([])?)
}

/// (kind, session, mechanic, assignment) of every event, oldest first; for tests and audits.
pub type EventRow = (String, Option<String>, Option<String>, Option<String>);

pub fn all(conn: &Connection) -> rusqlite::Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, session_id, mechanic_id, assignment_id FROM events ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}
