//! Intakes and sessions.

use crate::store::Sql;
use crate::store::db::{Db, OptionalExtension, Row, params};
use chrono::{DateTime, Utc};

use super::{json_list, to_json};
use crate::clock::{from_millis, to_millis};
use crate::model::{Intake, Session, SessionStatus};

pub fn insert_intake(conn: &Db, i: &Intake) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO intakes (id, customer_name, customer_email, customer_phone, location_country, \
         location_province, location_city, location_postal_code, vehicle_year, vehicle_make, \
         vehicle_model, vehicle_vin, concern, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?
    .execute(params![
        i.id,
        i.customer_name,
        i.customer_email,
        i.customer_phone,
        i.country,
        i.province,
        i.city,
        i.postal_code,
        i.vehicle_year,
        i.vehicle_make,
        i.vehicle_model,
        i.vehicle_vin,
        i.concern,
        to_millis(i.created_at),
    ])?;
    Ok(())
}

const INTAKE_COLUMNS: &str = "id, customer_name, customer_email, customer_phone, \
    location_country, location_province, location_city, location_postal_code, vehicle_year, \
    vehicle_make, vehicle_model, vehicle_vin, concern, created_at";

fn intake_from_row(r: &Row<'_>) -> crate::store::Result<Intake> {
    Ok(Intake {
        id: r.get(0)?,
        customer_name: r.get(1)?,
        customer_email: r.get(2)?,
        customer_phone: r.get(3)?,
        country: r.get(4)?,
        province: r.get(5)?,
        city: r.get(6)?,
        postal_code: r.get(7)?,
        vehicle_year: r.get(8)?,
        vehicle_make: r.get(9)?,
        vehicle_model: r.get(10)?,
        vehicle_vin: r.get(11)?,
        concern: r.get(12)?,
        created_at: from_millis(r.get(13)?),
    })
}

pub fn get_intake(conn: &Db, id: &str) -> crate::store::Result<Option<Intake>> {
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        INTAKE_COLUMNS,
        " FROM intakes WHERE id = ?1"
    ))?
    .query_row([id], intake_from_row)
    .optional()
}

pub fn exists(conn: &Db, id: &str) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!("SELECT 1 FROM sessions WHERE id = ?1"))?
        .exists([id])
}

/// A session as the factory creates it; `metadata` is JSON text, serialised straight from
/// typed data (building a `serde_json::Value` first was a tenth of an intake's cost).
pub struct NewSession<'a> {
    pub id: &'a str,
    pub status: SessionStatus,
    pub payment_method: crate::model::PaymentMethod,
    pub urgent: bool,
    pub request_type: crate::model::RequestType,
    pub requested_brands: &'a [String],
    pub preferred_mechanic_id: Option<&'a str>,
    pub waiver_signed: bool,
    pub payment_confirmed: bool,
    pub metadata: &'a str,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// Booked for later (SPEC §14): the session is `scheduled` until the tick releases it.
    pub scheduled_for: Option<DateTime<Utc>>,
}

/// Inserts a new session; its intake has the same id.
pub fn insert(conn: &Db, s: &NewSession<'_>) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO sessions (id, intake_id, status, payment_method, urgent, request_type, \
         requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed, metadata, \
         created_at, released_at, scheduled_for) \
         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        s.id,
        s.status,
        s.payment_method,
        s.urgent,
        s.request_type,
        to_json(&s.requested_brands),
        s.preferred_mechanic_id,
        s.waiver_signed,
        s.payment_confirmed,
        s.metadata,
        to_millis(s.created_at),
        s.released_at.map(to_millis),
        s.scheduled_for.map(to_millis),
    ])?;
    Ok(())
}

/// [`COLUMNS`] without the matching results (most of a session's metadata): for lists, which
/// never show them. Each backend drops them its own way.
const LIGHT_COLUMNS_SQLITE: &str = "id, intake_id, status, payment_method, urgent, request_type, \
    requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed, \
    matched_mechanic_id, json_remove(metadata, '$.matching_results'), created_at, released_at, \
    matched_at, completed_at, cancelled_at, escalated_at, scheduled_for";
const LIGHT_COLUMNS_POSTGRES: &str = "id, intake_id, status, payment_method, urgent, \
    request_type, requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed, \
    matched_mechanic_id, (metadata::jsonb - 'matching_results')::text, created_at, released_at, \
    matched_at, completed_at, cancelled_at, escalated_at, scheduled_for";

const COLUMNS: &str = "id, intake_id, status, payment_method, urgent, request_type, \
    requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed, \
    matched_mechanic_id, metadata, created_at, released_at, matched_at, completed_at, cancelled_at, \
    escalated_at, scheduled_for";

fn from_row(r: &Row<'_>) -> crate::store::Result<Session> {
    let metadata: String = r.get(11)?;
    let mut metadata: serde_json::Value =
        serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null);
    // metadata.escalated_at (SPEC §5) has its one home in the `escalated_at` column: escalating
    // a session writes an integer, not its whole metadata (a tick may escalate thousands).
    if let (Some(object), Some(at)) = (metadata.as_object_mut(), r.get::<_, Option<i64>>(17)?) {
        object.insert(
            "escalated_at".into(),
            crate::clock::rfc3339(from_millis(at)).into(),
        );
    }
    Ok(Session {
        id: r.get(0)?,
        intake_id: r.get(1)?,
        status: r.get(2)?,
        payment_method: r.get(3)?,
        urgent: r.get(4)?,
        request_type: r.get(5)?,
        requested_brands: json_list(r.get(6)?)?,
        preferred_mechanic_id: r.get(7)?,
        waiver_signed: r.get(8)?,
        payment_confirmed: r.get(9)?,
        matched_mechanic_id: r.get(10)?,
        metadata,
        created_at: from_millis(r.get(12)?),
        released_at: r.get::<_, Option<i64>>(13)?.map(from_millis),
        matched_at: r.get::<_, Option<i64>>(14)?.map(from_millis),
        completed_at: r.get::<_, Option<i64>>(15)?.map(from_millis),
        cancelled_at: r.get::<_, Option<i64>>(16)?.map(from_millis),
        scheduled_for: r.get::<_, Option<i64>>(18)?.map(from_millis),
    })
}

pub fn get(conn: &Db, id: &str) -> crate::store::Result<Option<Session>> {
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM sessions WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

/// Many sessions in full, in one query (prune's archive).
pub fn get_many(conn: &Db, ids: &[&str]) -> crate::store::Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM sessions WHERE id IN (SELECT value FROM json_each(?1))"], postgres: ["SELECT ", COLUMNS, " FROM sessions WHERE id IN (SELECT json_array_elements_text($1::json))"]))?;
    let rows = stmt.query_map([to_json(&ids)], from_row)?;
    rows.collect()
}

/// Sessions in any of `statuses`, newest first, at most `limit`, without their matching
/// results. One indexed query per status
/// (each reads at most `limit` rows in index order) merged here, rather than one query that
/// would sort every session of those statuses.
pub fn list_by_status(
    conn: &Db,
    statuses: &[SessionStatus],
    limit: usize,
) -> crate::store::Result<Vec<Session>> {
    // The matching results (most of a session's metadata) are left out: lists never show
    // them, and the detail view loads its one session in full.
    let mut stmt = conn.prepare_cached(LIST_BY_STATUS)?;
    let mut all = Vec::new();
    for status in statuses {
        let rows = stmt.query_map(params![status, limit as i64], from_row)?;
        for row in rows {
            all.push(row?);
        }
    }
    // Stable: equal times keep the order of `statuses`, then insertion order.
    all.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    all.truncate(limit);
    Ok(all)
}

/// The statement of [`list_by_status`], for one status.
pub const LIST_BY_STATUS: Sql<'static> = crate::sql_each!(
    sqlite: [
        "SELECT ", LIGHT_COLUMNS_SQLITE, " FROM sessions WHERE status = ?1 \
         ORDER BY created_at DESC, rowid DESC LIMIT ?2"
    ],
    postgres: [
        "SELECT ", LIGHT_COLUMNS_POSTGRES, " FROM sessions WHERE status = $1 \
         ORDER BY created_at DESC, rowid DESC LIMIT $2"
    ],
);

/// Waiting sessions that named `mechanic` as their preferred mechanic (by their index: left to
/// itself the planner walks every waiting session).
pub fn waiting_preferring(conn: &Db, mechanic: &str) -> crate::store::Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM sessions INDEXED BY sessions_by_preferred \
         WHERE preferred_mechanic_id = ?1 AND status = 'waiting' \
         ORDER BY created_at, id"], postgres: ["SELECT ", COLUMNS, " FROM sessions \
    WHERE preferred_mechanic_id = $1 AND status = 'waiting' \
         ORDER BY created_at, id"]))?;
    let rows = stmt.query_map([mechanic], from_row)?;
    rows.collect()
}

/// Moves a session from one of `from` to `to`; false when it was not in one of them (someone
/// else moved it first). Leaving `waiting` must close the session's open assignments in the same
/// transaction (`assignments::close_open`): the tick opens held broadcasts without looking at
/// their session.
pub fn transition(
    conn: &Db,
    id: &str,
    from: &[SessionStatus],
    to: SessionStatus,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    // One statement per column a status stamps, each written out (no SQL is built per call).
    macro_rules! moving_to {
        ($column:literal) => {
            crate::sql_each!(
                sqlite: [
                    "UPDATE sessions SET status = ?2, ", $column, " = ?3 \
                     WHERE id = ?1 AND status IN (SELECT value FROM json_each(?4))"
                ],
                postgres: [
                    "UPDATE sessions SET status = $2, ", $column, " = $3 \
                     WHERE id = $1 AND status IN (SELECT json_array_elements_text($4::json))"
                ],
            )
        };
    }
    let sql = match to {
        SessionStatus::Waiting => moving_to!("released_at"),
        SessionStatus::Matched => moving_to!("matched_at"),
        SessionStatus::Completed => moving_to!("completed_at"),
        SessionStatus::Cancelled => moving_to!("cancelled_at"),
        SessionStatus::Pending | SessionStatus::Scheduled => moving_to!("created_at"),
    };
    let wanted: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed =
        conn.prepare_cached(sql)?
            .execute(params![id, to, to_millis(now), to_json(&wanted)])?;
    Ok(changed == 1)
}

pub fn set_matched_mechanic(conn: &Db, id: &str, mechanic: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE sessions SET matched_mechanic_id = ?2 WHERE id = ?1"
    ))?
    .execute([id, mechanic])?;
    Ok(())
}

pub fn set_gate(
    conn: &Db,
    id: &str,
    waiver_signed: bool,
    payment_confirmed: bool,
) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE sessions SET waiver_signed = ?2, payment_confirmed = ?3 WHERE id = ?1"
    ))?
    .execute(params![id, waiver_signed, payment_confirmed])?;
    Ok(())
}

pub fn set_preferred(conn: &Db, id: &str, mechanic: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE sessions SET preferred_mechanic_id = ?2 WHERE id = ?1"
    ))?
    .execute([id, mechanic])?;
    Ok(())
}

pub const COUNT_IN_PLAY: Sql<'static> = crate::sql!(
    "SELECT status, COUNT(*) FROM sessions \
    WHERE status IN ('scheduled', 'pending', 'waiting', 'matched') GROUP BY status ORDER BY status"
);

/// Counts the sessions still in play per status (scheduled, pending, waiting, matched), for the
/// console's header. Finished ones are not counted: that would walk the whole history on every
/// refresh, and the header shows none of them.
pub fn count_by_status(conn: &Db) -> crate::store::Result<Vec<(SessionStatus, i64)>> {
    let mut stmt = conn.prepare_cached(COUNT_IN_PLAY)?;
    let rows = stmt.query_map(crate::params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Intakes of many sessions in one query.
pub fn intakes_for(conn: &Db, ids: &[&str]) -> crate::store::Result<Vec<Intake>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", INTAKE_COLUMNS, " FROM intakes WHERE id IN (SELECT value FROM json_each(?1))"], postgres: ["SELECT ", INTAKE_COLUMNS, " FROM intakes WHERE id IN (SELECT json_array_elements_text($1::json))"]))?;
    let rows = stmt.query_map([to_json(&ids)], intake_from_row)?;
    rows.collect()
}

pub const ESCALATE: Sql<'static> = crate::sql_each!(
    sqlite: [
        "UPDATE sessions INDEXED BY sessions_to_escalate \
         SET escalated_at = ?2 \
         WHERE status = 'waiting' AND escalated_at IS NULL AND released_at <= ?1 \
         RETURNING id, json_extract(metadata, '$.extracted_keywords'), \
                   json_extract(metadata, '$.customer_city')"
    ],
    postgres: [
        "UPDATE sessions SET escalated_at = $2 \
         WHERE status = 'waiting' AND escalated_at IS NULL AND released_at <= $1 \
         RETURNING id, (metadata::json -> 'extracted_keywords')::text, \
                   metadata::json ->> 'customer_city'"
    ],
);

/// An escalated session, with what its dispatcher message needs from its metadata.
pub struct Escalated {
    pub id: String,
    pub keywords: Vec<String>,
    pub city: Option<String>,
}

/// Escalates every waiting session released at or before `released_by` and not escalated yet
/// (by the `sessions_to_escalate` index); returns them by id. The message's details come back
/// from the same statement: a mass escalation reads no session twice.
pub fn escalate_released_before(
    conn: &Db,
    released_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<Escalated>> {
    let mut stmt = conn.prepare_cached(ESCALATE)?;
    let rows = stmt.query_map(params![to_millis(released_by), to_millis(now)], |r| {
        let keywords: Option<String> = r.get(1)?;
        Ok(Escalated {
            id: r.get(0)?,
            keywords: keywords
                .and_then(|k| serde_json::from_str(&k).ok())
                .unwrap_or_default(),
            city: r.get(2)?,
        })
    })?;
    let mut escalated: Vec<Escalated> = rows.collect::<crate::store::Result<_>>()?;
    escalated.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(escalated)
}

pub const ESCALATED_WAITING: Sql<'static> = crate::sql_each!(
    sqlite: ["SELECT ", LIGHT_COLUMNS_SQLITE, " FROM sessions INDEXED BY sessions_escalated \
    WHERE status = 'waiting' AND escalated_at IS NOT NULL ORDER BY released_at, id LIMIT ?1"],
    postgres: ["SELECT ", LIGHT_COLUMNS_POSTGRES, " FROM sessions \
    WHERE status = 'waiting' AND escalated_at IS NOT NULL ORDER BY released_at, id LIMIT $1"],
);

/// Escalated sessions still waiting, longest waiting first, at most `limit`, without their
/// matching results (the console pins them above the newest sessions, however many there are).
pub fn escalated_waiting(conn: &Db, limit: usize) -> crate::store::Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(ESCALATED_WAITING)?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

/// How many escalated sessions are still waiting (the console's header).
pub fn escalated_count(conn: &Db) -> crate::store::Result<i64> {
    conn.prepare_cached(
        crate::sql_each!(sqlite: ["SELECT COUNT(*) FROM sessions INDEXED BY sessions_escalated \
         WHERE status = 'waiting' AND escalated_at IS NOT NULL"], postgres: ["SELECT COUNT(*) FROM sessions \
    WHERE status = 'waiting' AND escalated_at IS NOT NULL"]),
    )?
    .query_row(crate::params![], |r| r.get(0))
}

/// Scheduled sessions due for release by `cutoff` (their time minus the lead), soonest first:
/// one range scan of `sessions_scheduled_due`, which holds scheduled sessions only.
pub fn scheduled_due(conn: &Db, cutoff: DateTime<Utc>) -> crate::store::Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(sqlite: ["SELECT ", COLUMNS, " FROM sessions INDEXED BY sessions_scheduled_due \
         WHERE status = 'scheduled' AND scheduled_for <= ?1 ORDER BY scheduled_for, id"], postgres: ["SELECT ", COLUMNS, " FROM sessions \
    WHERE status = 'scheduled' AND scheduled_for <= $1 ORDER BY scheduled_for, id"]))?;
    let rows = stmt.query_map([to_millis(cutoff)], from_row)?;
    rows.collect()
}

/// Scheduled sessions, soonest first, at most `limit` (the console's bookings list).
pub fn scheduled(conn: &Db, limit: usize) -> crate::store::Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(crate::sql_each!(
        sqlite: [
            "SELECT ", LIGHT_COLUMNS_SQLITE, " FROM sessions INDEXED BY sessions_scheduled_due \
             WHERE status = 'scheduled' ORDER BY scheduled_for, id LIMIT ?1"
        ],
        postgres: [
            "SELECT ", LIGHT_COLUMNS_POSTGRES, " FROM sessions \
             WHERE status = 'scheduled' ORDER BY scheduled_for, id LIMIT $1"
        ],
    ))?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.collect()
}

/// Releases a scheduled session: its new status (waiting, or pending behind its gate), the
/// release time when waiting, and `patch` (a JSON object: the matching that ran) merged into
/// its metadata. False when it was no longer scheduled (cancelled first).
pub fn release_scheduled(
    conn: &Db,
    id: &str,
    status: SessionStatus,
    released_at: Option<DateTime<Utc>>,
    patch: &str,
) -> crate::store::Result<bool> {
    let changed = conn
        .prepare_cached(crate::sql_each!(
            sqlite: ["UPDATE sessions SET status = ?2, released_at = ?3, \
                 metadata = json_patch(metadata, ?4) WHERE id = ?1 AND status = 'scheduled'"],
            postgres: ["UPDATE sessions SET status = ?2, released_at = ?3, \
                 metadata = (metadata::jsonb || ?4::jsonb)::text \
                 WHERE id = ?1 AND status = 'scheduled'"],
        ))?
        .execute(params![id, status, released_at.map(to_millis), patch])?;
    Ok(changed == 1)
}

/// Sessions of any status whose reference, customer or mechanic (the one matched, by name or
/// id) contains `needle` (any case), newest first, at most `limit`; without their matching
/// results. For the console's history: an empty needle lists the newest sessions.
pub fn search(conn: &Db, needle: &str, limit: usize) -> crate::store::Result<Vec<Session>> {
    // LIKE with its own escape: a `%` or `_` typed by the dispatcher is a character.
    let escaped: String = needle
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let pattern = format!("%{escaped}%");
    let mut stmt = conn.prepare_cached(crate::sql_each!(
        sqlite: ["SELECT ", LIGHT_COLUMNS_SQLITE, " FROM sessions WHERE id IN ( \
           SELECT s.id FROM sessions s \
           LEFT JOIN intakes i ON i.id = s.intake_id \
           LEFT JOIN mechanics m ON m.id = s.matched_mechanic_id \
           WHERE lower(s.id) LIKE ?1 ESCAPE '\\' \
              OR lower(i.customer_name) LIKE ?1 ESCAPE '\\' \
              OR lower(COALESCE(m.name, '')) LIKE ?1 ESCAPE '\\' \
              OR lower(COALESCE(s.matched_mechanic_id, '')) LIKE ?1 ESCAPE '\\') \
         ORDER BY created_at DESC, rowid DESC LIMIT ?2"],
        postgres: ["SELECT ", LIGHT_COLUMNS_POSTGRES, " FROM sessions WHERE id IN ( \
           SELECT s.id FROM sessions s \
           LEFT JOIN intakes i ON i.id = s.intake_id \
           LEFT JOIN mechanics m ON m.id = s.matched_mechanic_id \
           WHERE lower(s.id) LIKE ?1 ESCAPE '\\' \
              OR lower(i.customer_name) LIKE ?1 ESCAPE '\\' \
              OR lower(COALESCE(m.name, '')) LIKE ?1 ESCAPE '\\' \
              OR lower(COALESCE(s.matched_mechanic_id, '')) LIKE ?1 ESCAPE '\\') \
         ORDER BY created_at DESC, rowid DESC LIMIT ?2"],
    ))?;
    let rows = stmt.query_map(params![pattern, limit as i64], from_row)?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The light column lists are [`COLUMNS`] with the metadata's matching results dropped,
    /// each backend its own way: the same columns in the same order, or `from_row` misreads.
    #[test]
    fn light_columns_are_the_columns_without_the_matching_results() {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            words(LIGHT_COLUMNS_SQLITE),
            words(&COLUMNS.replace("metadata", "json_remove(metadata, '$.matching_results')"))
        );
        assert_eq!(
            words(LIGHT_COLUMNS_POSTGRES),
            words(&COLUMNS.replace("metadata", "(metadata::jsonb - 'matching_results')::text"))
        );
    }
}
