//! Offers. Every state change is one conditional UPDATE (`... AND status = 'offered'`): zero rows
//! changed means another transaction got there first. The unique partial index on accepted rows
//! is the last word on who won a session.
//!
//! An assignment is stored in two rows (schema.sql says why): its state in `session_assignments`
//! and what it was made on in `assignment_details`. This module is the only place that knows;
//! everything above it sees one `Assignment`.

use crate::store::Sql;
use crate::store::db::{Db, Row, params};
use chrono::{DateTime, Utc};
use serde::ser::{Serialize, Serializer};

use super::{json_list, to_json};
use crate::clock::{from_millis, to_millis};
use crate::model::{Assignment, MatchType};

/// An assignment's columns, read from `session_assignments a` joined to its details `d` (FROM).
/// A left join: an assignment whose details row went missing (`pitwall check` reports it) stays
/// visible to reads, and so acceptable, like every other. An offer the tick expired keeps
/// `closed_at` and `closed_reason` NULL ([`EXPIRE_DUE`] says why): it closed at its deadline, for
/// `timeout`, and is read so; schema.sql's view says the same.
const COLUMNS: &str = "a.id, a.session_id, a.mechanic_id, a.status, a.priority, a.match_score, \
    COALESCE(d.match_reasons, '[]'), a.offered_at, a.expires_at, a.active_from, a.accepted_at, \
    CASE WHEN a.status = 'expired' AND a.closed_reason IS NULL THEN a.expires_at \
    ELSE a.closed_at END, \
    COALESCE(a.closed_reason, CASE WHEN a.status = 'expired' THEN 'timeout' END), \
    COALESCE(d.metadata, '{}'), a.created_at, a.match_type";
const FROM: &str =
    "session_assignments a LEFT JOIN assignment_details d ON d.assignment_seq = a.seq";

fn from_row(r: &Row<'_>) -> crate::store::Result<Assignment> {
    let metadata: String = r.get(13)?;
    let match_type: MatchType = r.get(15)?;
    let mut metadata: serde_json::Value =
        serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null);
    if let Some(object) = metadata.as_object_mut() {
        object.insert("match_type".into(), match_type.as_str().into());
    }
    let time = |i: usize| -> crate::store::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_millis))
    };
    Ok(Assignment {
        id: r.get(0)?,
        session_id: r.get(1)?,
        mechanic_id: r.get(2)?,
        status: r.get(3)?,
        priority: r.get(4)?,
        match_score: r.get(5)?,
        match_reasons: json_list(r.get(6)?)?,
        offered_at: time(7)?,
        expires_at: time(8)?,
        active_from: time(9)?,
        accepted_at: time(10)?,
        closed_at: time(11)?,
        closed_reason: r.get(12)?,
        metadata,
        created_at: from_millis(r.get(14)?),
        match_type,
    })
}

/// An assignment's metadata as stored: all of it but `match_type`, whose one home is the
/// `match_type` column.
struct StoredMetadata<'a>(&'a serde_json::Value);

impl Serialize for StoredMetadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_object() {
            Some(object) => {
                serializer.collect_map(object.iter().filter(|(key, _)| *key != "match_type"))
            }
            None => self.0.serialize(serializer),
        }
    }
}

pub fn insert(conn: &Db, a: &Assignment) -> crate::store::Result<()> {
    const COLUMNS_AND_VALUES: &str = "INSERT INTO session_assignments (id, session_id, \
         mechanic_id, match_type, status, priority, match_score, offered_at, expires_at, \
         active_from, accepted_at, closed_at, closed_reason, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
    // The new row's `seq`: SQLite's is the rowid the connection already holds (a RETURNING
    // statement runs to the end into a temporary b-tree it opens and closes on every execution:
    // a sixth of an intake's time on the engine thread); PostgreSQL's comes back with the row.
    const INSERT: Sql<'static> = crate::sql_each!(
        sqlite: [COLUMNS_AND_VALUES],
        postgres: [COLUMNS_AND_VALUES, " RETURNING seq"],
    );
    let row = params![
        a.id,
        a.session_id,
        a.mechanic_id,
        a.match_type,
        a.status,
        a.priority,
        a.match_score,
        a.offered_at.map(to_millis),
        a.expires_at.map(to_millis),
        a.active_from.map(to_millis),
        a.accepted_at.map(to_millis),
        a.closed_at.map(to_millis),
        a.closed_reason,
        to_millis(a.created_at),
    ];
    let seq = conn.insert_returning_rowid(INSERT, row)?;
    conn.prepare_cached(crate::sql!(
        "INSERT INTO assignment_details (assignment_seq, match_reasons, metadata) \
         VALUES (?1, ?2, ?3)"
    ))?
    .execute(params![
        seq,
        to_json(&a.match_reasons),
        to_json(&StoredMetadata(&a.metadata)),
    ])?;
    Ok(())
}

/// The statement of [`for_session`] (for its query-plan tests).
pub const FOR_SESSION: Sql<'static> = crate::sql!(
    "SELECT ",
    COLUMNS,
    " FROM ",
    FROM,
    " WHERE a.session_id = ?1 ORDER BY a.created_at, a.seq"
);

/// A session's assignments in the order they were made.
pub fn for_session(conn: &Db, session: &str) -> crate::store::Result<Vec<Assignment>> {
    let mut stmt = conn.prepare_cached(FOR_SESSION)?;
    let rows = stmt.query_map([session], from_row)?;
    rows.collect()
}

/// The accepting transaction's one write that matters: false when the row was no longer open,
/// or when another accepted row for the session already exists (the unique index refused it).
pub fn accept(
    conn: &Db,
    id: &str,
    mechanic: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    let result = conn.tolerating(|| {
        conn.prepare_cached(crate::sql!(
            "UPDATE session_assignments SET status = 'accepted', mechanic_id = ?2, \
             accepted_at = ?3, offered_at = COALESCE(offered_at, ?3) \
             WHERE id = ?1 AND status IN ('queued', 'offered')"
        ))?
        .execute(params![id, mechanic, to_millis(now)])
    });
    match result {
        Ok(n) => Ok(n == 1),
        Err(e) if e.is_constraint() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Closes every open (queued or offered) assignment of a session except `keep`; returns their ids.
pub fn close_open(
    conn: &Db,
    session: &str,
    keep: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        crate::sql!("UPDATE session_assignments SET status = 'cancelled', closed_reason = ?3, closed_at = ?4 \
         WHERE session_id = ?1 AND id IS DISTINCT FROM ?2 AND status IN ('queued', 'offered') RETURNING id"),
    )?;
    let rows = stmt.query_map(params![session, keep, reason, to_millis(now)], |r| r.get(0))?;
    let mut ids: Vec<String> = rows.collect::<crate::store::Result<_>>()?;
    ids.sort();
    Ok(ids)
}

pub fn decline(conn: &Db, id: &str, now: DateTime<Utc>) -> crate::store::Result<bool> {
    let n = conn
        .prepare_cached(crate::sql!(
            "UPDATE session_assignments SET status = 'declined', closed_reason = 'declined', \
             closed_at = ?2 WHERE id = ?1 AND status = 'offered' AND expires_at > ?2"
        ))?
        .execute(params![id, to_millis(now)])?;
    Ok(n == 1)
}

/// The verb of SQLite's many-row UPDATEs and INSERTs in the tick. A statement that writes many
/// rows and may stop half-way on a constraint (ABORT, the default) keeps a statement journal of
/// every page it changes, to undo its own half; a statement that FAILs leaves that half, which
/// here changes nothing: any error rolls back the whole command (its transaction, or in `serve`
/// its savepoint). The journal was a twentieth of a tick that expires 10,002 offers.
const MANY_ROWS_UPDATE: &str = "UPDATE OR FAIL";

/// Only the status: a timed-out offer's `closed_at` (its deadline) and `closed_reason`
/// (`timeout`) are implied by it and stay NULL, so the row keeps its size. Writing them grew
/// every row by 13 bytes on pages its intake had filled, and SQLite moved each one and split
/// its page instead of overwriting it in place: 11 M of the instructions of a tick expiring
/// 10,002 offers (schema.sql's `session_assignments_full` and [`COLUMNS`] read them back).
const EXPIRE_SET: &str = " session_assignments SET status = 'expired' WHERE ";
const EXPIRE_WHERE: &str = "status = 'offered' AND expires_at <= ?1";

/// The offers past their deadline, (id, session, mechanic); on PostgreSQL it expires them too
/// ([`Db::update_reading`] says why SQLite's is a SELECT).
pub const EXPIRE_DUE: Sql<'static> = crate::sql_each!(
    sqlite: ["SELECT id, session_id, mechanic_id FROM session_assignments WHERE ", EXPIRE_WHERE],
    postgres: ["UPDATE", EXPIRE_SET, EXPIRE_WHERE, " RETURNING id, session_id, mechanic_id"],
);
/// SQLite's expiry of the rows [`EXPIRE_DUE`] read.
pub const EXPIRE_DUE_UPDATE: Sql<'static> = crate::sql_each!(
    sqlite: [MANY_ROWS_UPDATE, EXPIRE_SET, EXPIRE_WHERE],
    postgres: [""],
);

/// The targeted offers one tick let lapse.
#[derive(Debug, Default)]
pub struct Lapsed {
    /// (assignment, session) pairs, by assignment id.
    pub offers: Vec<(String, String)>,
    /// How many lapsed per mechanic.
    pub per_mechanic: std::collections::BTreeMap<String, i64>,
}

/// Targeted offers past their deadline become `expired`. A tick may expire 10,000 offers of a
/// few hundred mechanics, so each mechanic's id is copied once, not once per offer.
pub fn expire_due(conn: &Db, now: DateTime<Utc>) -> crate::store::Result<Lapsed> {
    let mut lapsed = Lapsed::default();
    conn.update_reading(EXPIRE_DUE, EXPIRE_DUE_UPDATE, [to_millis(now)], |r| {
        lapsed.offers.push((r.get(0)?, r.get(1)?));
        let mechanic = r.get_ref(2)?;
        let mechanic = mechanic
            .as_str()
            .map_err(|why| crate::store::Error::conversion(2, why))?;
        match lapsed.per_mechanic.get_mut(mechanic) {
            Some(n) => *n += 1,
            None => {
                lapsed.per_mechanic.insert(mechanic.to_string(), 1);
            }
        }
        Ok(())
    })?;
    lapsed.offers.sort();
    Ok(lapsed)
}

/// Withdraws a mechanic's live (or not yet released) targeted offers: he clocked out
/// (`clocked_out`) or has no room for another session (`busy`).
pub fn withdraw_targeted(
    conn: &Db,
    mechanic: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "UPDATE session_assignments SET status = 'expired', closed_reason = ?3, \
         closed_at = ?2 WHERE mechanic_id = ?1 AND status IN ('queued', 'offered') \
         AND match_type = 'targeted' RETURNING id, session_id"
    ))?;
    let rows = stmt.query_map(params![mechanic, to_millis(now), reason], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let mut pairs: Vec<(String, String)> = rows.collect::<crate::store::Result<_>>()?;
    pairs.sort();
    Ok(pairs)
}

const ACTIVATE_DUE_SET: &str = " session_assignments SET status = 'offered', offered_at = ?1 \
    WHERE ";
const ACTIVATE_DUE_WHERE: &str =
    "status = 'queued' AND match_type = 'broadcast' AND active_from <= ?1";

/// The held broadcasts whose time has come, (id, session); on PostgreSQL it opens them too
/// ([`Db::update_reading`]).
///
/// No session lookup: a held broadcast gets its `active_from` only when its session is released
/// (waiting), and every way out of waiting closes the session's open assignments (`close_open`),
/// so a held broadcast with an opening time belongs to a waiting session. `pitwall check` checks
/// both rules. ([`ACTIVATE_UNCOVERED`] cannot rely on this and keeps its lookup: a clock-out
/// withdraws held offers of *pending* sessions too, whose broadcasts have no opening time yet.)
pub const ACTIVATE_DUE_BROADCASTS: Sql<'static> = crate::sql_each!(
    sqlite: ["SELECT id, session_id FROM session_assignments WHERE ", ACTIVATE_DUE_WHERE],
    postgres: ["UPDATE", ACTIVATE_DUE_SET, ACTIVATE_DUE_WHERE, " RETURNING id, session_id"],
);
/// SQLite's opening of the broadcasts [`ACTIVATE_DUE_BROADCASTS`] read.
pub const ACTIVATE_DUE_BROADCASTS_UPDATE: Sql<'static> = crate::sql_each!(
    sqlite: [MANY_ROWS_UPDATE, ACTIVATE_DUE_SET, ACTIVATE_DUE_WHERE],
    postgres: [""],
);

/// Held broadcasts whose `active_from` has come become active.
pub fn activate_due_broadcasts(
    conn: &Db,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    conn.update_reading(
        ACTIVATE_DUE_BROADCASTS,
        ACTIVATE_DUE_BROADCASTS_UPDATE,
        [to_millis(now)],
        |r| {
            pairs.push((r.get(0)?, r.get(1)?));
            Ok(())
        },
    )?;
    pairs.sort();
    Ok(pairs)
}

/// Opens, at once, the held broadcast of every listed waiting session that has no live
/// targeted offer any more (all declined, expired or withdrawn); returns (broadcast, session).
/// Both lookups go through the per-session index: left to itself the planner may walk every
/// held broadcast or every live offer instead, which turns a tick after a burst of expiries
/// quadratic.
pub const ACTIVATE_UNCOVERED: Sql<'static> = crate::sql_each!(sqlite: ["UPDATE session_assignments \
    INDEXED BY assignments_by_session \
    SET status = 'offered', offered_at = ?2, active_from = ?2 \
    WHERE session_id IN (SELECT value FROM json_each(?1)) \
    AND status = 'queued' AND match_type = 'broadcast' \
    AND EXISTS (SELECT 1 FROM sessions s \
        WHERE s.id = session_assignments.session_id AND s.status = 'waiting') \
    AND NOT EXISTS (SELECT 1 FROM session_assignments t INDEXED BY assignments_by_session \
        WHERE t.session_id = session_assignments.session_id AND t.status = 'offered' \
        AND t.match_type = 'targeted' AND t.expires_at > ?2) \
    RETURNING id, session_id"], postgres: ["UPDATE session_assignments \
    \
    SET status = 'offered', offered_at = $2, active_from = $2 \
    WHERE session_id IN (SELECT json_array_elements_text($1::json)) \
    AND status = 'queued' AND match_type = 'broadcast' \
    AND EXISTS (SELECT 1 FROM sessions s \
        WHERE s.id = session_assignments.session_id AND s.status = 'waiting') \
    AND NOT EXISTS (SELECT 1 FROM session_assignments t \
    WHERE t.session_id = session_assignments.session_id AND t.status = 'offered' \
        AND t.match_type = 'targeted' AND t.expires_at > $2) \
    RETURNING id, session_id"]);

pub fn activate_uncovered_broadcasts(
    conn: &Db,
    sessions: &[&str],
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<(String, String)>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(ACTIVATE_UNCOVERED)?;
    let rows = stmt.query_map(params![to_json(&sessions), to_millis(now)], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let mut pairs: Vec<(String, String)> = rows.collect::<crate::store::Result<_>>()?;
    pairs.sort();
    Ok(pairs)
}

/// Starts the clocks of a released session: held targeted offers become live until `expires`,
/// and the broadcast opens at `broadcast_from`.
pub fn release(
    conn: &Db,
    session: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
    broadcast_from: DateTime<Utc>,
) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE session_assignments SET status = 'offered', offered_at = ?2, expires_at = ?3 \
         WHERE session_id = ?1 AND status = 'queued' AND match_type = 'targeted'"
    ))?
    .execute(params![session, to_millis(now), to_millis(expires)])?;
    conn.prepare_cached(crate::sql!(
        "UPDATE session_assignments SET active_from = ?2 \
         WHERE session_id = ?1 AND status = 'queued' AND match_type = 'broadcast'"
    ))?
    .execute(params![session, to_millis(broadcast_from)])?;
    Ok(())
}

/// A mechanic's live targeted offers and accepted sessions still in play (held offers of
/// unreleased sessions are not shown: their clocks have not started). The first half names the
/// predicate of its partial index word for word, as SQLite needs to use it. The second starts
/// from his matched sessions (`sessions_matched_by_mechanic` holds only those) and finds each
/// one's accepted assignment by the one-accepted index: it reads what he holds now, however many
/// sessions he has completed. (Starting from his accepted assignments instead read every one he
/// ever had and looked up each session's status: a queue read grew with his history.)
pub const MINE: Sql<'static> = crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM ", FROM, " WHERE a.mechanic_id = ?1 \
         AND a.status IN ('queued', 'offered') AND a.mechanic_id IS NOT NULL \
         AND a.status = 'offered' AND a.match_type = 'targeted' AND a.expires_at > ?2 \
         UNION ALL \
         SELECT ", COLUMNS, " FROM sessions s INDEXED BY sessions_matched_by_mechanic \
         CROSS JOIN session_assignments a INDEXED BY assignments_one_accepted \
         ON a.session_id = s.id AND a.status = 'accepted' \
         LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
         WHERE s.matched_mechanic_id = ?1 AND s.status = 'matched' AND a.mechanic_id = ?1"], postgres: ["SELECT ", COLUMNS, " FROM ", FROM, " WHERE a.mechanic_id = $1 \
         AND a.status IN ('queued', 'offered') AND a.mechanic_id IS NOT NULL \
         AND a.status = 'offered' AND a.match_type = 'targeted' AND a.expires_at > $2 \
         UNION ALL \
         SELECT ", COLUMNS, " FROM sessions s \
    JOIN session_assignments a \
    ON a.session_id = s.id AND a.status = 'accepted' \
         LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
         WHERE s.matched_mechanic_id = $1 AND s.status = 'matched' AND a.mechanic_id = $1"]);

/// Queue order (SPEC §5): priority (high first), then newest first.
fn queue_order(rows: &mut [Assignment]) {
    rows.sort_by(queue_cmp);
}

fn queue_cmp(a: &Assignment, b: &Assignment) -> std::cmp::Ordering {
    let rank = |p: crate::model::Priority| match p {
        crate::model::Priority::High => 0,
        crate::model::Priority::Normal => 1,
        crate::model::Priority::Low => 2,
    };
    rank(a.priority)
        .cmp(&rank(b.priority))
        .then(b.created_at.cmp(&a.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

pub fn mine(
    conn: &Db,
    mechanic: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<Assignment>> {
    let mut stmt = conn.prepare_cached(MINE)?;
    let mut rows: Vec<Assignment> = stmt
        .query_map(params![mechanic, to_millis(now)], from_row)?
        .collect::<crate::store::Result<_>>()?;
    queue_order(&mut rows);
    Ok(rows)
}

/// Broadcasts open at `now` on waiting sessions (activated ones, and held ones already due that
/// no tick has opened yet — two halves, each served by its own partial index), with what decides
/// who may take them: the session's request type and brands (columns 16 and 17 after
/// `columns`).
// Broadcasts first, then their session (SQLite's CROSS JOIN keeps that order; PostgreSQL plans
// for itself): there are far fewer open broadcasts than waiting sessions.
macro_rules! open_broadcasts {
    ($columns:expr) => {
        crate::sql_each!(
            sqlite: [
                "SELECT ", $columns, ", s.request_type, s.requested_brands \
                 FROM session_assignments a INDEXED BY assignments_broadcast_open \
                 CROSS JOIN sessions s ON s.id = a.session_id \
                 LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
                 WHERE a.status = 'offered' AND a.match_type = 'broadcast' AND s.status = 'waiting' \
                 UNION ALL \
                 SELECT ", $columns, ", s.request_type, s.requested_brands \
                 FROM session_assignments a INDEXED BY assignments_broadcast_held \
                 CROSS JOIN sessions s ON s.id = a.session_id \
                 LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
                 WHERE a.status = 'queued' AND a.match_type = 'broadcast' AND a.active_from <= ?1 \
                 AND s.status = 'waiting'"
            ],
            postgres: [
                "SELECT ", $columns, ", s.request_type, s.requested_brands \
                 FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
                 LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
                 WHERE a.status = 'offered' AND a.match_type = 'broadcast' AND s.status = 'waiting' \
                 UNION ALL \
                 SELECT ", $columns, ", s.request_type, s.requested_brands \
                 FROM session_assignments a JOIN sessions s ON s.id = a.session_id \
                 LEFT JOIN assignment_details d ON d.assignment_seq = a.seq \
                 WHERE a.status = 'queued' AND a.match_type = 'broadcast' AND a.active_from <= $1 \
                 AND s.status = 'waiting'"
            ],
        )
    };
}

/// Open broadcasts in full, with their session's rules.
pub const OPEN_BROADCASTS: Sql<'static> = open_broadcasts!(COLUMNS);
/// Only the rules of each open broadcast.
const OPEN_BROADCAST_RULES: Sql<'static> = open_broadcasts!("a.seq");

/// An open broadcast and its session's rules of who may take it.
pub struct OpenBroadcast {
    pub assignment: Assignment,
    pub request_type: crate::model::RequestType,
    pub brands: Vec<String>,
}

pub fn open_broadcasts(conn: &Db, now: DateTime<Utc>) -> crate::store::Result<Vec<OpenBroadcast>> {
    let mut stmt = conn.prepare_cached(OPEN_BROADCASTS)?;
    let mut rows: Vec<OpenBroadcast> = stmt
        .query_map([to_millis(now)], |r| {
            Ok(OpenBroadcast {
                assignment: from_row(r)?,
                request_type: r.get(16)?,
                brands: json_list(r.get(17)?)?,
            })
        })?
        .collect::<crate::store::Result<_>>()?;
    rows.sort_by(|a, b| queue_cmp(&a.assignment, &b.assignment));
    Ok(rows)
}

/// Only the rules of each open broadcast (request type, brands): enough to count those a
/// mechanic may take, without reading the broadcasts themselves.
pub fn open_broadcast_rules(
    conn: &Db,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<(crate::model::RequestType, Vec<String>)>> {
    let mut stmt = conn.prepare_cached(OPEN_BROADCAST_RULES)?;
    let rows = stmt.query_map([to_millis(now)], |r| Ok((r.get(1)?, json_list(r.get(2)?)?)))?;
    rows.collect()
}

/// Assignments of many sessions in one query (the console's session list).
pub fn for_sessions(conn: &Db, sessions: &[&str]) -> crate::store::Result<Vec<Assignment>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM ", FROM, " WHERE a.session_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY a.session_id, a.created_at, a.seq"], postgres: ["SELECT ", COLUMNS, " FROM ", FROM, " WHERE a.session_id IN (SELECT json_array_elements_text($1::json)) \
         ORDER BY a.session_id, a.created_at, a.seq"]))?;
    let rows = stmt.query_map([to_json(&sessions)], from_row)?;
    rows.collect()
}

pub const LIVE_OFFER_COUNTS: Sql<'static> = crate::sql!(
    "SELECT mechanic_id, COUNT(*) FROM session_assignments \
    WHERE status = 'offered' AND match_type = 'targeted' AND expires_at > ?1 GROUP BY mechanic_id"
);

/// Live targeted offers per mechanic (the roster's queue-size column).
pub fn live_offer_counts(
    conn: &Db,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(LIVE_OFFER_COUNTS)?;
    let rows = stmt.query_map([to_millis(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
