//! The append-only audit log: one row per state change, written in the same transaction as the
//! change itself, so the log never claims something that was rolled back.

use crate::store::Db;
use crate::store::Sql;
use crate::store::sql::numbered_rows;
use chrono::{DateTime, Utc};

use crate::clock::to_millis;

/// Who and what an event touched; unset ids stay NULL.
#[derive(Debug, Default, Clone, Copy)]
pub struct Subject<'a> {
    pub session: Option<&'a str>,
    pub mechanic: Option<&'a str>,
    pub assignment: Option<&'a str>,
    pub waitlist: Option<&'a str>,
}

/// One audit row, owned, waiting to be written with the rest of its transaction's events.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    pub session: Option<String>,
    pub mechanic: Option<String>,
    pub assignment: Option<String>,
    pub waitlist: Option<String>,
    pub detail: Option<String>,
}

impl Event {
    pub fn new(
        at: DateTime<Utc>,
        kind: &'static str,
        subject: Subject<'_>,
        detail: Option<String>,
    ) -> Event {
        Event {
            at,
            kind,
            session: subject.session.map(str::to_string),
            mechanic: subject.mechanic.map(str::to_string),
            assignment: subject.assignment.map(str::to_string),
            waitlist: subject.waitlist.map(str::to_string),
            detail,
        }
    }
}

/// Rows per multi-row INSERT: a tick that expires thousands of offers writes them in few
/// statements.
const BATCH: usize = 32;

/// Writes events in order, `BATCH` rows per statement.
pub fn record_all(conn: &Db, events: &[Event]) -> crate::store::Result<()> {
    // Each backend's text written with its own placeholders, for every row count up to a full
    // batch, once: building the text (and hashing a fresh one to find its prepared statement)
    // was 3 % of an intake's instructions.
    fn insert(rows: usize) -> (String, String) {
        let text = |mark, verb| {
            format!(
                "{verb} INTO events (at, kind, session_id, mechanic_id, assignment_id, waitlist_id, \
                 detail) VALUES {}",
                numbered_rows(rows, 7, mark)
            )
        };
        // SQLite's OR FAIL: no statement journal (`assignments::MANY_ROWS_UPDATE` says why).
        (text('?', "INSERT OR FAIL"), text('$', "INSERT"))
    }
    static TEXTS: std::sync::LazyLock<Vec<(String, String)>> =
        std::sync::LazyLock::new(|| (1..=BATCH).map(insert).collect());
    for chunk in events.chunks(BATCH) {
        if let Some((at, kind)) = alike(chunk) {
            let rows: Vec<[&dyn crate::store::db::ToValue; 2]> = chunk
                .iter()
                .map(|e| [&e.session as _, &e.assignment as _])
                .collect();
            write_alike(conn, at, kind, &rows)?;
            continue;
        }
        let (sqlite, postgres) = &TEXTS[chunk.len() - 1];
        let mut stmt = conn.prepare_cached(Sql::each(sqlite, postgres))?;
        let mut values: Vec<&dyn crate::store::db::ToValue> = Vec::with_capacity(chunk.len() * 7);
        let times: Vec<i64> = chunk.iter().map(|e| to_millis(e.at)).collect();
        for (e, at) in chunk.iter().zip(&times) {
            values.extend_from_slice(&[
                at,
                &e.kind,
                &e.session,
                &e.mechanic,
                &e.assignment,
                &e.waitlist,
                &e.detail,
            ]);
        }
        stmt.execute(values.as_slice())?;
    }
    Ok(())
}

/// The moment and kind a run of events shares, when each of them names only a session and an
/// assignment: the tick's `offer_expired` and `broadcast_activated`, 13,000 of them when it
/// expires 10,002 offers. Such a run is written with its moment and kind bound once and no
/// placeholders for the columns they leave NULL: five binds of seven per row fewer.
fn alike(chunk: &[Event]) -> Option<(DateTime<Utc>, &'static str)> {
    let first = chunk.first()?;
    chunk
        .iter()
        .all(|e| {
            e.at == first.at
                && e.kind == first.kind
                && e.mechanic.is_none()
                && e.waitlist.is_none()
                && e.detail.is_none()
        })
        .then_some((first.at, first.kind))
}

/// Writes, in order, one event of `kind` at `at` for each (assignment, session) pair: what
/// [`record_all`] writes for such events, without making an [`Event`] of each first (the tick's
/// 10,002 expiries: copying their ids into events was 2 % of its instructions). Only for a
/// transaction that has no event waiting to be written before these.
pub fn record_offer_events(
    conn: &Db,
    at: DateTime<Utc>,
    kind: &'static str,
    pairs: &[(String, String)],
) -> crate::store::Result<()> {
    for chunk in pairs.chunks(BATCH) {
        let rows: Vec<[&dyn crate::store::db::ToValue; 2]> = chunk
            .iter()
            .map(|(assignment, session)| [session as _, assignment as _])
            .collect();
        write_alike(conn, at, kind, &rows)?;
    }
    Ok(())
}

/// One INSERT of up to `BATCH` events alike ([`alike`]): each row's (session, assignment).
fn write_alike(
    conn: &Db,
    at: DateTime<Utc>,
    kind: &'static str,
    rows: &[[&dyn crate::store::db::ToValue; 2]],
) -> crate::store::Result<()> {
    static TEXTS: std::sync::LazyLock<Vec<(String, String)>> =
        std::sync::LazyLock::new(|| (1..=BATCH).map(insert_alike).collect());
    let (sqlite, postgres) = &TEXTS[rows.len() - 1];
    let mut stmt = conn.prepare_cached(Sql::each(sqlite, postgres))?;
    let at = to_millis(at);
    let mut values: Vec<&dyn crate::store::db::ToValue> = Vec::with_capacity(2 + rows.len() * 2);
    values.extend_from_slice(&[&at, &kind]);
    for row in rows {
        values.extend_from_slice(row);
    }
    stmt.execute(values.as_slice())?;
    Ok(())
}

/// The INSERT of `rows` events alike ([`alike`]) for each backend: `(?1, ?2, ?3, ?4), (?1, ?2,
/// ?5, ?6), …`, the moment and kind first, then each row's session and assignment.
fn insert_alike(rows: usize) -> (String, String) {
    let text = |mark: char, verb: &str| {
        let mut values = String::with_capacity(rows * 24);
        for row in 0..rows {
            if row > 0 {
                values.push_str(", ");
            }
            let (session, assignment) = (3 + 2 * row, 4 + 2 * row);
            values.push_str(&format!(
                "({mark}1, {mark}2, {mark}{session}, {mark}{assignment})"
            ));
        }
        format!("{verb} INTO events (at, kind, session_id, assignment_id) VALUES {values}")
    };
    // SQLite's OR FAIL: no statement journal (`assignments::MANY_ROWS_UPDATE` says why).
    (text('?', "INSERT OR FAIL"), text('$', "INSERT"))
}

/// True when nothing was ever recorded: a database no one has used yet. A database whose
/// history was pruned away has been used (prune leaves `history_since`), however empty its log.
pub fn none_yet(conn: &Db) -> crate::store::Result<bool> {
    Ok(!conn
        .prepare_cached(crate::sql!("SELECT 1 FROM events LIMIT 1"))?
        .exists(crate::params![])?
        && super::settings::history_since(conn)?.is_none())
}

/// (kind, session, mechanic, assignment) of every event, oldest first; for tests and audits.
pub type EventRow = (String, Option<String>, Option<String>, Option<String>);

pub fn all(conn: &Db) -> crate::store::Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT kind, session_id, mechanic_id, assignment_id FROM events ORDER BY id"
    ))?;
    let rows = stmt.query_map(crate::params![], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.collect()
}

/// One audit row as read back (the HTTP API streams these, SPEC §13).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub session: Option<String>,
    pub mechanic: Option<String>,
    pub assignment: Option<String>,
    pub waitlist: Option<String>,
    /// The event's detail as JSON (ids, reasons, counts; never a customer's free text).
    pub detail: Option<serde_json::Value>,
}

/// The newest event's id (0 when there is none).
pub fn latest_id(conn: &Db) -> crate::store::Result<i64> {
    conn.prepare_cached(crate::sql!("SELECT COALESCE(MAX(id), 0) FROM events"))?
        .query_row(crate::params![], |r| r.get(0))
}

/// The oldest event's id (0 when there is none).
pub fn first_id(conn: &Db) -> crate::store::Result<i64> {
    conn.prepare_cached(crate::sql!("SELECT COALESCE(MIN(id), 0) FROM events"))?
        .query_row(crate::params![], |r| r.get(0))
}

const STORED_COLUMNS: &str =
    "id, at, kind, session_id, mechanic_id, assignment_id, waitlist_id, detail";

fn stored_from_row(r: &crate::store::db::Row<'_>) -> crate::store::Result<Stored> {
    let detail: Option<String> = r.get(7)?;
    Ok(Stored {
        id: r.get(0)?,
        at: crate::clock::rfc3339(crate::clock::from_millis(r.get(1)?)),
        kind: r.get(2)?,
        session: r.get(3)?,
        mechanic: r.get(4)?,
        assignment: r.get(5)?,
        waitlist: r.get(6)?,
        detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

/// The statement of [`after`] (for its query-plan tests).
pub const AFTER: Sql<'static> = crate::sql!(
    "SELECT ",
    STORED_COLUMNS,
    " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"
);

/// Up to `limit` events after `id`, oldest first.
pub fn after(conn: &Db, id: i64, limit: usize) -> crate::store::Result<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(AFTER)?;
    let rows = stmt.query_map(crate::params![id, limit as i64], stored_from_row)?;
    rows.collect()
}

/// The timelines of many sessions, oldest first (prune's archive), by `events_by_session`.
pub fn for_sessions(conn: &Db, sessions: &[&str]) -> crate::store::Result<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", STORED_COLUMNS, " FROM events INDEXED BY events_by_session \
         WHERE session_id IN (SELECT value FROM json_each(?1)) ORDER BY id"], postgres: ["SELECT ", STORED_COLUMNS, " FROM events \
    WHERE session_id IN (SELECT json_array_elements_text($1::json)) ORDER BY id"]))?;
    let rows = stmt.query_map([super::to_json(&sessions)], stored_from_row)?;
    rows.collect()
}

/// The mechanics a session concerns: every one it was offered to, and the one matched to it.
pub const SESSION_MECHANICS: Sql<'static> = crate::sql!(
    "SELECT mechanic_id FROM session_assignments \
    WHERE session_id = ?1 AND mechanic_id IS NOT NULL \
    UNION SELECT matched_mechanic_id FROM sessions \
    WHERE id = ?1 AND matched_mechanic_id IS NOT NULL"
);

pub fn session_mechanics(conn: &Db, session: &str) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(SESSION_MECHANICS)?;
    stmt.query_map([session], |r| r.get(0))?.collect()
}

/// A session's events, oldest first, at most `limit` (its timeline in the console's history).
pub fn for_session(conn: &Db, session: &str, limit: usize) -> crate::store::Result<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT id, at, kind, session_id, mechanic_id, assignment_id, waitlist_id, detail \
         FROM events WHERE session_id = ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(crate::params![session, limit as i64], |r| {
        let detail: Option<String> = r.get(7)?;
        Ok(Stored {
            id: r.get(0)?,
            at: crate::clock::rfc3339(crate::clock::from_millis(r.get(1)?)),
            kind: r.get(2)?,
            session: r.get(3)?,
            mechanic: r.get(4)?,
            assignment: r.get(5)?,
            waitlist: r.get(6)?,
            detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
    })?;
    rows.collect()
}
