//! Mechanics: the roster, shifts and the counters sessions update.

use crate::store::Sql;
use crate::store::db::{Db, OptionalExtension, Row, params};
use chrono::{DateTime, NaiveDate, Utc};

use super::{json_list, to_json};
use crate::clock::{from_millis, to_millis};
use crate::model::Mechanic;

const COLUMNS: &str = "id, name, email, phone, city, state_province, country, postal_code, \
    years_experience, rating, completed_sessions, profile_completion_score, account_status, \
    currently_on_shift, is_available, last_clock_in, certification_type, certification_number, \
    certification_authority, certification_region, certification_expiry, red_seal_certified, \
    red_seal_number, red_seal_province, is_brand_specialist, brand_specializations, \
    service_keywords, created_at, updated_at, max_active_sessions, notify_via, timezone, shifts";

fn from_row(r: &Row<'_>) -> crate::store::Result<Mechanic> {
    let expiry: Option<String> = r.get(20)?;
    Ok(Mechanic {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
        city: r.get(4)?,
        state_province: r.get(5)?,
        country: r.get(6)?,
        postal_code: r.get(7)?,
        years_experience: r.get(8)?,
        rating: r.get(9)?,
        completed_sessions: r.get(10)?,
        profile_completion_score: r.get(11)?,
        account_status: r.get(12)?,
        currently_on_shift: r.get(13)?,
        is_available: r.get(14)?,
        last_clock_in: r.get::<_, Option<i64>>(15)?.map(from_millis),
        certification_type: r.get(16)?,
        certification_number: r.get(17)?,
        certification_authority: r.get(18)?,
        certification_region: r.get(19)?,
        certification_expiry: expiry.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        red_seal_certified: r.get(21)?,
        red_seal_number: r.get(22)?,
        red_seal_province: r.get(23)?,
        is_brand_specialist: r.get(24)?,
        brand_specializations: json_list(r.get(25)?)?,
        service_keywords: json_list(r.get(26)?)?,
        created_at: from_millis(r.get(27)?),
        updated_at: from_millis(r.get(28)?),
        max_active_sessions: r.get(29)?,
        notify_via: {
            let via: String = r.get(30)?;
            serde_json::from_str(&via).map_err(|e| crate::store::Error::conversion(30, e))?
        },
        plan: plan_at(r, 31)?,
    })
}

/// The weekly plan stored in columns `zone` (time zone) and `zone + 1` (shifts, JSON).
fn plan_at(r: &Row<'_>, zone: usize) -> crate::store::Result<crate::schedule::WeeklyPlan> {
    let (tz, shifts): (String, String) = (r.get(zone)?, r.get(zone + 1)?);
    crate::schedule::from_stored(&tz, &shifts)
        .map_err(|e| crate::store::Error::conversion(zone + 1, e))
}

pub fn exists(conn: &Db, id: &str) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!("SELECT 1 FROM mechanics WHERE id = ?1"))?
        .exists([id])
}

pub fn insert(conn: &Db, m: &Mechanic) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO mechanics (",
        COLUMNS,
        ") VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
          ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)"
    ))?
    .execute(params![
        m.id,
        m.name,
        m.email,
        m.phone,
        m.city,
        m.state_province,
        m.country,
        m.postal_code,
        m.years_experience,
        m.rating,
        m.completed_sessions,
        m.profile_completion_score,
        m.account_status,
        m.currently_on_shift,
        m.is_available,
        m.last_clock_in.map(to_millis),
        m.certification_type,
        m.certification_number,
        m.certification_authority,
        m.certification_region,
        m.certification_expiry
            .map(|d| d.format("%Y-%m-%d").to_string()),
        m.red_seal_certified,
        m.red_seal_number,
        m.red_seal_province,
        m.is_brand_specialist,
        to_json(&m.brand_specializations),
        to_json(&m.service_keywords),
        to_millis(m.created_at),
        to_millis(m.updated_at),
        m.max_active_sessions,
        to_json(&m.notify_via),
        m.plan.timezone.name(),
        crate::schedule::shifts_json(&m.plan),
    ])?;
    Ok(())
}

pub fn get(conn: &Db, id: &str) -> crate::store::Result<Option<Mechanic>> {
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM mechanics WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

/// A mechanic's name and city only: what a booking form is shown of him, without reading (and
/// parsing) the rest of his record.
pub fn name_and_city(
    conn: &Db,
    id: &str,
) -> crate::store::Result<Option<(String, Option<String>)>> {
    conn.prepare_cached(crate::sql!(
        "SELECT name, city FROM mechanics WHERE id = ?1"
    ))?
    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

/// Every mechanic, by id, handed to `each` one at a time as read: the roster is built from them
/// without a second copy of all of them in memory (at 100,000 mechanics, tens of MB).
pub fn for_each(conn: &Db, mut each: impl FnMut(Mechanic)) -> crate::store::Result<()> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM mechanics ORDER BY id"
    ))?;
    stmt.for_each_row(crate::params![], |row| {
        each(from_row(row)?);
        Ok(())
    })
}

/// Every mechanic's id and weekly plan, by id: what a reader of plans alone needs (the
/// simulation's shift checks), without reading and parsing whole records.
pub fn plans(conn: &Db) -> crate::store::Result<Vec<(String, crate::schedule::WeeklyPlan)>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT id, timezone, shifts FROM mechanics ORDER BY id"
    ))?;
    let rows = stmt.query_map(crate::params![], |row| Ok((row.get(0)?, plan_at(row, 1)?)))?;
    rows.collect()
}

/// Mechanics who can take no session (not approved, or a profile under 80 %), by id.
pub fn unable(conn: &Db) -> crate::store::Result<Vec<Mechanic>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM mechanics WHERE NOT (account_status = 'approved' \
         AND profile_completion_score >= ?1) ORDER BY id"
    ))?;
    let rows = stmt.query_map([crate::model::MIN_PROFILE_COMPLETION], from_row)?;
    rows.collect()
}

/// The whole roster, by id: matching ranks the eligible and names the others with the reason
/// they were left out.
pub fn all(conn: &Db) -> crate::store::Result<Vec<Mechanic>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM mechanics ORDER BY id"
    ))?;
    let rows = stmt.query_map(crate::params![], from_row)?;
    rows.collect()
}

/// Clock in or out: `currently_on_shift` is the truth, `is_available` its legacy mirror (SPEC §1
/// dual write). Returns false when the mechanic was already in that state.
pub fn set_on_shift(
    conn: &Db,
    id: &str,
    on_shift: bool,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    let changed = conn
        .prepare_cached(crate::sql!(
            "UPDATE mechanics SET currently_on_shift = ?2, is_available = ?2, updated_at = ?3, \
             last_clock_in = CASE WHEN ?2 = 1 THEN ?3 ELSE last_clock_in END \
             WHERE id = ?1 AND currently_on_shift <> ?2"
        ))?
        .execute(params![id, on_shift, to_millis(now)])?;
    Ok(changed == 1)
}

/// A new weekly plan (SPEC §14); false when no such mechanic.
pub fn set_plan(
    conn: &Db,
    id: &str,
    plan: &crate::schedule::WeeklyPlan,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    let changed = conn
        .prepare_cached(crate::sql!(
            "UPDATE mechanics SET timezone = ?2, shifts = ?3, updated_at = ?4 WHERE id = ?1"
        ))?
        .execute(params![
            id,
            plan.timezone.name(),
            crate::schedule::shifts_json(plan),
            to_millis(now)
        ])?;
    Ok(changed == 1)
}

pub fn add_completed_session(conn: &Db, id: &str, now: DateTime<Utc>) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE mechanics SET completed_sessions = completed_sessions + 1, updated_at = ?2 \
         WHERE id = ?1"
    ))?
    .execute(params![id, to_millis(now)])?;
    Ok(())
}

/// Sessions a mechanic holds now (matched, not completed or cancelled): at his
/// `max_active_sessions` he is busy. By the `sessions_matched_by_mechanic` index.
pub fn active_sessions(conn: &Db, id: &str) -> crate::store::Result<i64> {
    conn.prepare_cached(ACTIVE_SESSIONS)?
        .query_row([id], |r| r.get(0))
}

pub const ACTIVE_SESSIONS: Sql<'static> = crate::sql!(
    "SELECT COUNT(*) FROM sessions WHERE matched_mechanic_id = ?1 AND status = 'matched'"
);

pub const BUSY: Sql<'static> = crate::sql_each!(sqlite: ["SELECT s.matched_mechanic_id FROM sessions s INDEXED BY sessions_matched_by_mechanic \
    JOIN mechanics m ON m.id = s.matched_mechanic_id \
    WHERE s.status = 'matched' GROUP BY s.matched_mechanic_id \
    HAVING COUNT(*) >= MAX(m.max_active_sessions)"], postgres: ["SELECT s.matched_mechanic_id FROM sessions s \
    JOIN mechanics m ON m.id = s.matched_mechanic_id \
    WHERE s.status = 'matched' GROUP BY s.matched_mechanic_id \
    HAVING COUNT(*) >= MAX(m.max_active_sessions)"]);

/// Every busy mechanic's id: one walk of the matched sessions (the partial index holds only
/// those), so it costs what is in play now, not the history.
pub fn busy(conn: &Db) -> crate::store::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(BUSY)?;
    let rows = stmt.query_map(crate::params![], |r| r.get(0))?;
    rows.collect()
}

/// Matched sessions per mechanic holding any (the console's roster).
pub fn active_counts(conn: &Db) -> crate::store::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        crate::sql_each!(sqlite: ["SELECT matched_mechanic_id, COUNT(*) FROM sessions INDEXED BY sessions_matched_by_mechanic \
         WHERE status = 'matched' GROUP BY matched_mechanic_id"], postgres: ["SELECT matched_mechanic_id, COUNT(*) FROM sessions \
    WHERE status = 'matched' GROUP BY matched_mechanic_id"]),
    )?;
    let rows = stmt.query_map(crate::params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Adds offers that just expired unanswered to each mechanic's streak (`lapsed`: mechanic →
/// offers), then takes out the streaks that reached `limit`, which start again; returns those
/// mechanics with their streak, by id.
pub fn add_unanswered_many(
    conn: &Db,
    lapsed: &std::collections::BTreeMap<String, i64>,
    limit: i64,
) -> crate::store::Result<Vec<(String, i64)>> {
    let lapsed = to_json(lapsed);
    // `WHERE true`: SQLite's parser needs it between a SELECT and ON CONFLICT.
    conn.prepare_cached(crate::sql_each!(
        sqlite: ["INSERT INTO unanswered_offers (mechanic_id, streak) \
     SELECT key, value FROM json_each(?1) WHERE true \
     ON CONFLICT (mechanic_id) DO UPDATE \
     SET streak = unanswered_offers.streak + excluded.streak"],
        postgres: ["INSERT INTO unanswered_offers (mechanic_id, streak) \
     SELECT key, CAST(value AS BIGINT) FROM json_each_text(?1::json) \
     ON CONFLICT (mechanic_id) DO UPDATE \
     SET streak = unanswered_offers.streak + excluded.streak"],
    ))?
    .execute([&lapsed])?;
    let mut stmt = conn.prepare_cached(crate::sql_each!(
        sqlite: ["DELETE FROM unanswered_offers \
     WHERE mechanic_id IN (SELECT key FROM json_each(?1)) AND streak >= ?2 \
     RETURNING mechanic_id, streak"],
        postgres: ["DELETE FROM unanswered_offers \
     WHERE mechanic_id IN (SELECT key FROM json_each_text(?1::json)) AND streak >= ?2 \
     RETURNING mechanic_id, streak"],
    ))?;
    let rows = stmt.query_map(params![lapsed, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut due: Vec<(String, i64)> = rows.collect::<crate::store::Result<_>>()?;
    due.sort();
    Ok(due)
}

/// He answered (accept, decline) or clocked in: the streak starts again.
pub fn reset_unanswered(conn: &Db, id: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "DELETE FROM unanswered_offers WHERE mechanic_id = ?1"
    ))?
    .execute([id])?;
    Ok(())
}

/// Unanswered offers in a row, per mechanic with any (the console's roster).
pub fn unanswered_streaks(conn: &Db) -> crate::store::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT mechanic_id, streak FROM unanswered_offers"
    ))?;
    let rows = stmt.query_map(crate::params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Changes whenever any mechanic row changes, in this process or another.
pub fn roster_generation(conn: &Db) -> crate::store::Result<i64> {
    conn.prepare_cached(crate::sql!(
        "SELECT generation FROM roster_generation WHERE id = 1"
    ))?
    .query_row(crate::params![], |r| r.get(0))
}
