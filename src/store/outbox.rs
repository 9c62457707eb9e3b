//! The outbox (SPEC §12): rows written by the engine in the transaction of the change that
//! causes them, and the relay's claim / sent / failed steps, each one conditional statement.

use crate::store::Sql;
use crate::store::db::{Db, OptionalExtension, Row, params};
use chrono::{DateTime, Utc};

use crate::clock::{from_millis, to_millis};
use crate::model::{DeliveryStatus, Notification, NotificationKind, Route};

const COLUMNS: &str = "rowid, id, kind, channel, recipient, subject, body, session_id, \
    waitlist_id, created_at, status, attempts, next_attempt_at, last_error, sent_at, \
    assignment_id, expires_at, skip_reason";

fn from_row(r: &Row<'_>) -> crate::store::Result<Notification> {
    Ok(Notification {
        seq: r.get(0)?,
        id: r.get(1)?,
        kind: r.get(2)?,
        channel: r.get(3)?,
        recipient: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        session: r.get(7)?,
        waitlist_id: r.get(8)?,
        created_at: from_millis(r.get(9)?),
        status: r.get(10)?,
        attempts: r.get(11)?,
        next_attempt_at: from_millis(r.get(12)?),
        last_error: r.get(13)?,
        sent_at: r.get::<_, Option<i64>>(14)?.map(from_millis),
        assignment: r.get(15)?,
        expires_at: r.get::<_, Option<i64>>(16)?.map(from_millis),
        skip_reason: r.get(17)?,
        link: None,
    })
}

/// A message to write: due at once, pending.
pub struct NewNotification<'a> {
    pub kind: NotificationKind,
    pub channel: Route,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub session: Option<&'a str>,
    pub waitlist_id: Option<&'a str>,
    /// The offer an `offer` message announces, and its deadline.
    pub offer: Option<(&'a str, DateTime<Utc>)>,
}

/// Writes one pending row, due now; returns its id (a UUID: the idempotency key must not repeat
/// across databases either, or a receiver would drop a new message as a repeat).
pub fn insert(
    conn: &Db,
    n: &NewNotification<'_>,
    now: DateTime<Utc>,
) -> crate::store::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    conn.prepare_cached(crate::sql!(
        "INSERT INTO notifications (id, kind, channel, recipient, subject, body, session_id, \
         waitlist_id, created_at, status, attempts, next_attempt_at, assignment_id, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?9, ?10, ?11)"
    ))?
    .execute(params![
        id,
        n.kind,
        n.channel,
        n.recipient,
        n.subject,
        n.body,
        n.session,
        n.waitlist_id,
        to_millis(now),
        n.offer.map(|(assignment, _)| assignment),
        n.offer.map(|(_, expires_at)| to_millis(expires_at)),
    ])?;
    Ok(id)
}

/// The statement of [`list`] (for its query-plan tests).
pub const LIST: Sql<'static> = crate::sql!(
    "SELECT ",
    COLUMNS,
    " FROM notifications ORDER BY rowid DESC LIMIT ?1"
);

/// The outbox, newest first, at most `limit`.
pub fn list(conn: &Db, limit: usize) -> crate::store::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(LIST)?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

/// The messages of many sessions, in the order they were written (prune's archive), by
/// `notifications_by_session`.
pub fn for_sessions(conn: &Db, sessions: &[&str]) -> crate::store::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM notifications INDEXED BY notifications_by_session \
         WHERE session_id IN (SELECT value FROM json_each(?1)) ORDER BY rowid"], postgres: ["SELECT ", COLUMNS, " FROM notifications \
    WHERE session_id IN (SELECT json_array_elements_text($1::json)) ORDER BY rowid"]))?;
    let rows = stmt.query_map([super::to_json(&sessions)], from_row)?;
    rows.collect()
}

pub fn get(conn: &Db, id: &str) -> crate::store::Result<Option<Notification>> {
    use crate::store::db::OptionalExtension;
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM notifications WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

/// Why an offer's message would no longer be true at `?3`: NULL while its offer is live (or the
/// row announces no offer), else the [`crate::model::SkipReason`].
const STALE_OFFER: &str = "(SELECT CASE \
        WHEN a.status = 'offered' AND a.expires_at > ?3 THEN NULL \
        WHEN a.status = 'accepted' THEN 'accepted' \
        WHEN a.status = 'declined' THEN 'declined' \
        WHEN a.status = 'cancelled' AND a.closed_reason = 'taken' THEN 'taken' \
        WHEN a.status = 'cancelled' THEN 'cancelled' \
        WHEN a.status = 'expired' AND a.closed_reason IN ('busy', 'clocked_out') THEN 'withdrawn' \
        ELSE 'expired' END \
    FROM session_assignments a WHERE a.id = notifications.assignment_id)";

/// Takes up to `limit` due rows of one channel for `owner` until `lease_until`, in one
/// conditional UPDATE: a row is due when pending, its next attempt has come and no live lease
/// holds it. An offer's message whose offer is no longer live is not leased but ends `skipped`
/// with the reason, in the same statement, so no relay ever sends it; the caller gets both
/// kinds back and sends only the `pending` ones. Two relays running this at once never get the
/// same row (one writer at a time; the second finds the row leased or skipped).
pub fn claim(
    conn: &Db,
    owner: &str,
    channel: Route,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> crate::store::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(CLAIM)?;
    let rows = stmt.query_map(
        params![
            owner,
            to_millis(lease_until),
            to_millis(now),
            channel,
            limit as i64
        ],
        from_row,
    )?;
    let mut rows: Vec<Notification> = rows.collect::<crate::store::Result<_>>()?;
    rows.sort_by_key(|n| (n.next_attempt_at, n.seq));
    Ok(rows)
}

/// The statement of [`claim`] (for its query-plan test).
pub const CLAIM: Sql<'static> = crate::sql_each!(sqlite: ["UPDATE notifications SET \
             skip_reason = ", STALE_OFFER, ", \
             status = CASE WHEN ", STALE_OFFER, " IS NULL THEN 'pending' ELSE 'skipped' END, \
             lease_owner = CASE WHEN ", STALE_OFFER, " IS NULL THEN CAST(?1 AS TEXT) END, \
             lease_until = CASE WHEN ", STALE_OFFER, " IS NULL THEN CAST(?2 AS BIGINT) END \
         WHERE id IN (SELECT id FROM notifications \
                      INDEXED BY notifications_pending_by_channel \
                      WHERE status = 'pending' AND channel = ?4 AND next_attempt_at <= ?3 \
                        AND (lease_until IS NULL OR lease_until <= ?3) \
                      ORDER BY next_attempt_at, rowid LIMIT ?5) \
           AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?3) \
         RETURNING ", COLUMNS], postgres: ["UPDATE notifications SET \
             skip_reason = ", STALE_OFFER, ", \
             status = CASE WHEN ", STALE_OFFER, " IS NULL THEN 'pending' ELSE 'skipped' END, \
             lease_owner = CASE WHEN ", STALE_OFFER, " IS NULL THEN CAST($1 AS TEXT) END, \
             lease_until = CASE WHEN ", STALE_OFFER, " IS NULL THEN CAST($2 AS BIGINT) END \
         WHERE id IN (SELECT id FROM notifications \
                      \
    WHERE status = 'pending' AND channel = $4 AND next_attempt_at <= $3 \
                        AND (lease_until IS NULL OR lease_until <= $3) \
                      ORDER BY next_attempt_at, rowid LIMIT $5) \
           AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $3) \
         RETURNING ", COLUMNS]);

/// Delivered. Only the lease holder records it; `false` when another relay took the row over
/// after this one's lease ran out (it then sends a repeat of the same id, which receivers drop).
pub fn mark_sent(
    conn: &Db,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    let n = conn
        .prepare_cached(crate::sql!(
            "UPDATE notifications SET status = 'sent', sent_at = ?3, attempts = attempts + 1, \
             last_error = NULL, lease_owner = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'"
        ))?
        .execute(params![id, owner, to_millis(now)])?;
    Ok(n == 1)
}

/// A failed attempt: counted, with the error, due again at `next_attempt_at` — or dead when
/// it was the last attempt allowed. Returns the row's status afterwards, `None` when this relay
/// no longer holds it.
pub fn mark_failed(
    conn: &Db,
    id: &str,
    owner: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    max_attempts: i64,
) -> crate::store::Result<Option<DeliveryStatus>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "UPDATE notifications SET attempts = attempts + 1, last_error = ?3, \
         next_attempt_at = ?4, lease_owner = NULL, lease_until = NULL, \
         status = CASE WHEN attempts + 1 >= ?5 THEN 'dead' ELSE 'pending' END \
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending' RETURNING status"
    ))?;
    stmt.query_row(
        params![id, owner, error, to_millis(next_attempt_at), max_attempts],
        |r| r.get(0),
    )
    .optional()
}

/// Gives back rows this relay claimed but will not try now (it is stopping, or too little of
/// the lease is left to send them safely): due again at once for any relay.
pub fn release(conn: &Db, id: &str, owner: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE notifications SET lease_owner = NULL, lease_until = NULL \
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'"
    ))?
    .execute(params![id, owner])?;
    Ok(())
}

pub const PENDING_ON: Sql<'static> = crate::sql_each!(sqlite: ["SELECT EXISTS (SELECT 1 FROM notifications \
    INDEXED BY notifications_pending_by_channel WHERE status = 'pending' AND channel = ?1)"], postgres: ["SELECT EXISTS (SELECT 1 FROM notifications \
    WHERE status = 'pending' AND channel = $1)"]);

/// Whether messages wait on this channel, for saying which wait without a transport: one index
/// probe (a relay asks every pass, and a channel without transport may hold a large backlog).
pub fn pending_on(conn: &Db, route: Route) -> crate::store::Result<bool> {
    conn.prepare_cached(PENDING_ON)?
        .query_row([route], |r| r.get(0))
}
