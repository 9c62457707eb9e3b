//! The raw figures behind SPEC §9; `crate::report` turns them into the metrics.

use crate::store::Db;

#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub sessions_total: i64,
    pub sessions_with_location: i64,
    pub sessions_matched_by_matcher: i64,
    pub matching_errors: i64,
    pub matcher_latencies_ms: Vec<f64>,
    pub accepted_targeted_scores: Vec<i64>,
    pub accepts_targeted: i64,
    pub accepts_broadcast: i64,
    pub seconds_to_accept_targeted: Vec<f64>,
    pub seconds_to_accept_broadcast: Vec<f64>,
    pub waitlist_joined: i64,
    pub waitlist_notified: i64,
    pub waitlist_expired: i64,
    pub cancelled_unmatched: i64,
    /// Scores of every targeted offer ever made, for the console's histogram.
    pub targeted_scores: Vec<i64>,
    /// Sessions booked for later (SPEC §14), those still waiting for release, and those
    /// matched no later than ten minutes after their time.
    pub scheduled_total: i64,
    pub scheduled_waiting: i64,
    pub scheduled_matched_on_time: i64,
    /// Counted from sessions made at or after this instant (milliseconds), when counting does
    /// not start at the beginning: `report --since`, or where pruned history ends.
    pub counted_from: Option<i64>,
    /// Where pruned history ends (`pitwall prune`), when anything was ever pruned.
    pub pruned_before: Option<i64>,
}

/// Sessions made at or after `?1`, by `sessions_by_status` (status, created_at): a range per
/// status, so a report from a date reads that period, not the years before it. SQLite is told
/// the index and the join order (offers through their sessions); PostgreSQL plans for itself.
const SESSIONS_FROM_SQLITE: &str = "sessions s INDEXED BY sessions_by_status";
const SESSIONS_FROM_POSTGRES: &str = "sessions s";
const MADE_FROM: &str = "s.status IN ('scheduled', 'pending', 'waiting', 'matched', \
    'completed', 'cancelled') AND s.created_at >= ?1";
const OFFERS_FROM_SQLITE: &str = "sessions s INDEXED BY sessions_by_status \
    CROSS JOIN session_assignments a ON a.session_id = s.id WHERE ";
const OFFERS_FROM_POSTGRES: &str = "sessions s JOIN session_assignments a ON a.session_id = s.id \
    WHERE ";

/// A field of a session's metadata (JSON text), as each backend reads it.
macro_rules! sqlite_meta {
    ($key:literal) => {
        concat!("json_extract(metadata, '$.", $key, "')")
    };
}
macro_rules! postgres_meta {
    ($key:literal) => {
        concat!("(metadata::json ->> '", $key, "')")
    };
}

/// The sessions' own figures: `$meta` reads a metadata field, `$true` is JSON `true` as it
/// compares.
macro_rules! session_counts {
    ($meta:ident, $true:literal, $sessions:expr) => {
        concat!(
            "SELECT COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN COALESCE(", $meta!("customer_country"), ", '') <> '' \
                 AND COALESCE(", $meta!("customer_postal_code"), ", '') <> '' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN ", $meta!("smart_matching"), " = ", $true, " \
                 AND ", $meta!("matching_error"), " IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN ", $meta!("matching_error"), " IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN status = 'cancelled' AND matched_mechanic_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM ", $sessions, " WHERE "
        )
    };
}

/// Bookings, those still waiting for release, and those matched in time.
const SCHEDULED: &str = "SELECT COUNT(*), \
    CAST(COALESCE(SUM(CASE WHEN status = 'scheduled' THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN matched_at IS NOT NULL AND matched_at <= scheduled_for + ?2 \
        THEN 1 ELSE 0 END), 0) AS BIGINT) FROM ";

/// Seconds from release to an accept, for the period's accepted offers of one kind.
const SECONDS_TO_ACCEPT: &str =
    "SELECT CAST(a.accepted_at - s.released_at AS DOUBLE PRECISION) / 1000.0 FROM ";
const ACCEPTED_OF_KIND: &str =
    " AND a.status = 'accepted' AND s.released_at IS NOT NULL AND a.match_type = ";

/// The figures of the sessions made from `since` (milliseconds; `None`: all kept), and what
/// was made with them (their offers, their waitlist entries). Pruned history ends the count
/// where it ends, whatever `since` says, and the figures say so.
pub fn figures(conn: &Db, since: Option<i64>) -> crate::store::Result<Figures> {
    let mut f = Figures {
        pruned_before: super::settings::history_since(conn)?,
        ..Figures::default()
    };
    f.counted_from = match (since, f.pruned_before) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let from = f.counted_from.unwrap_or(i64::MIN);
    (
        f.sessions_total,
        f.sessions_with_location,
        f.sessions_matched_by_matcher,
        f.matching_errors,
        f.cancelled_unmatched,
    ) = conn.query_row(
        crate::sql_each!(
            sqlite: [session_counts!(sqlite_meta, "1", "sessions s INDEXED BY sessions_by_status"), MADE_FROM],
            postgres: [session_counts!(postgres_meta, "'true'", "sessions s"), MADE_FROM],
        ),
        [from],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    f.matcher_latencies_ms = column_from(
        conn,
        from,
        crate::sql_each!(
            sqlite: [
                "SELECT CAST(", sqlite_meta!("matching_latency_ms"), " AS DOUBLE PRECISION) FROM ",
                SESSIONS_FROM_SQLITE, " WHERE ", MADE_FROM, " AND ", sqlite_meta!("matching_latency_ms"),
                " IS NOT NULL"
            ],
            postgres: [
                "SELECT CAST(", postgres_meta!("matching_latency_ms"), " AS DOUBLE PRECISION) FROM ",
                SESSIONS_FROM_POSTGRES, " WHERE ", MADE_FROM, " AND ",
                postgres_meta!("matching_latency_ms"), " IS NOT NULL"
            ],
        ),
    )?;
    // Offers through their sessions: the period's sessions, then each one's offers by index.
    const ACCEPTED_TARGETED: &str = " AND a.status = 'accepted' \
        AND a.match_type = 'targeted' AND a.match_score IS NOT NULL";
    f.accepted_targeted_scores = column_from(
        conn,
        from,
        crate::sql_each!(
            sqlite: ["SELECT a.match_score FROM ", OFFERS_FROM_SQLITE, MADE_FROM, ACCEPTED_TARGETED],
            postgres: ["SELECT a.match_score FROM ", OFFERS_FROM_POSTGRES, MADE_FROM, ACCEPTED_TARGETED],
        ),
    )?;
    const ACCEPTS: &str = "SELECT CAST(COALESCE(SUM(CASE WHEN a.match_type = 'targeted' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN a.match_type = 'broadcast' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM ";
    (f.accepts_targeted, f.accepts_broadcast) = conn.query_row(
        crate::sql_each!(
            sqlite: [ACCEPTS, OFFERS_FROM_SQLITE, MADE_FROM, " AND a.status = 'accepted'"],
            postgres: [ACCEPTS, OFFERS_FROM_POSTGRES, MADE_FROM, " AND a.status = 'accepted'"],
        ),
        [from],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Measured from release, when the customer started waiting, for both kinds alike.
    f.seconds_to_accept_targeted = column_from(
        conn,
        from,
        crate::sql_each!(
            sqlite: [SECONDS_TO_ACCEPT, OFFERS_FROM_SQLITE, MADE_FROM, ACCEPTED_OF_KIND, "'targeted'"],
            postgres: [SECONDS_TO_ACCEPT, OFFERS_FROM_POSTGRES, MADE_FROM, ACCEPTED_OF_KIND, "'targeted'"],
        ),
    )?;
    f.seconds_to_accept_broadcast = column_from(
        conn,
        from,
        crate::sql_each!(
            sqlite: [SECONDS_TO_ACCEPT, OFFERS_FROM_SQLITE, MADE_FROM, ACCEPTED_OF_KIND, "'broadcast'"],
            postgres: [SECONDS_TO_ACCEPT, OFFERS_FROM_POSTGRES, MADE_FROM, ACCEPTED_OF_KIND, "'broadcast'"],
        ),
    )?;
    (f.waitlist_joined, f.waitlist_notified, f.waitlist_expired) = conn.query_row(
        crate::sql_each!(sqlite: ["SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'notified' THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM customer_waitlist INDEXED BY waitlist_recent WHERE created_at >= ?1"], postgres: ["SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'notified' THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM customer_waitlist WHERE created_at >= $1"]),
        [from],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    (
        f.scheduled_total,
        f.scheduled_waiting,
        f.scheduled_matched_on_time,
    ) = conn.query_row(
        crate::sql_each!(
            sqlite: [SCHEDULED, SESSIONS_FROM_SQLITE, " WHERE ", MADE_FROM, " AND scheduled_for IS NOT NULL"],
            postgres: [SCHEDULED, SESSIONS_FROM_POSTGRES, " WHERE ", MADE_FROM, " AND scheduled_for IS NOT NULL"],
        ),
        [from, crate::model::RELEASE_AHEAD.num_milliseconds()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    const TARGETED: &str = " AND a.match_type = 'targeted' AND a.match_score IS NOT NULL";
    f.targeted_scores = column_from(
        conn,
        from,
        crate::sql_each!(
            sqlite: ["SELECT a.match_score FROM ", OFFERS_FROM_SQLITE, MADE_FROM, TARGETED],
            postgres: ["SELECT a.match_score FROM ", OFFERS_FROM_POSTGRES, MADE_FROM, TARGETED],
        ),
    )?;
    Ok(f)
}

/// What happened to offers, and the tick's two interventions, for `pitwall simulate` (SPEC
/// §16): counted from the database like the rest of the report, so a run on a file and
/// `pitwall report` on it afterwards tell the same day.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferCounts {
    /// Targeted offers made (each session's broadcast is not counted here).
    pub targeted_made: i64,
    pub accepted_targeted: i64,
    pub accepted_broadcast: i64,
    pub declined: i64,
    /// Targeted offers that lapsed unanswered.
    pub expired: i64,
    /// Targeted offers withdrawn: the mechanic clocked out or became busy.
    pub withdrawn: i64,
    pub auto_clock_outs: i64,
    pub escalations: i64,
}

pub fn offer_counts(conn: &Db) -> crate::store::Result<OfferCounts> {
    let mut c = OfferCounts::default();
    (
        c.targeted_made,
        c.accepted_targeted,
        c.accepted_broadcast,
        c.declined,
        c.expired,
        c.withdrawn,
    ) = conn.query_row(
        crate::sql!("SELECT CAST(COALESCE(SUM(CASE WHEN match_type = 'targeted' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN status = 'accepted' AND match_type = 'targeted' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN status = 'accepted' AND match_type = 'broadcast' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN status = 'expired' AND COALESCE(closed_reason, 'timeout') = 'timeout' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN status = 'expired' AND closed_reason <> 'timeout' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM session_assignments"),
        crate::params![],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    (c.auto_clock_outs, c.escalations) = conn.query_row(
        crate::sql!("SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'auto_clock_out' THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN kind = 'session_escalated' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM events"),
        crate::params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(c)
}

fn column_from<T: crate::store::db::FromValue>(
    conn: &Db,
    from: i64,
    sql: crate::store::Sql<'_>,
) -> crate::store::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([from], |r| r.get(0))?;
    rows.collect()
}
