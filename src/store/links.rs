//! The links that open pitwall's pages (SPEC §17): each stored as the SHA-256 of its code, with
//! what it opens. An offer's link names one offer and one mechanic; a status link one session.

use crate::store::db::{Db, OptionalExtension, params};
use chrono::{DateTime, Utc};

use crate::clock::to_millis;

/// What a link opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opens {
    /// An offer, for the mechanic it was made to.
    Offer {
        session: String,
        assignment: String,
        mechanic: String,
        /// How it was answered through the link, once it was.
        outcome: Option<String>,
    },
    /// A session's status, for its customer.
    Status { session: String },
}

/// A link to the offer `assignment`, for its mechanic. False when there is no such offer to a
/// mechanic (a broadcast not yet taken names none).
pub fn insert_offer(
    conn: &Db,
    sha256: &[u8; 32],
    assignment: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    // Read first, then a plain VALUES insert: PostgreSQL cannot type a parameter in a SELECT
    // list, and the two run in the caller's one connection (the relay's, or a transaction).
    let found: Option<(String, Option<String>)> = conn
        .prepare_cached(crate::sql!(
            "SELECT session_id, mechanic_id FROM session_assignments WHERE id = ?1"
        ))?
        .query_row(params![assignment], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((session, Some(mechanic))) = found else {
        return Ok(false);
    };
    conn.prepare_cached(crate::sql!(
        "INSERT INTO page_links \
         (sha256, kind, session_id, assignment_id, mechanic_id, created_at) \
         VALUES (?1, 'offer', ?2, ?3, ?4, ?5)"
    ))?
    .execute(params![
        sha256.to_vec(),
        session,
        assignment,
        mechanic,
        to_millis(now)
    ])?;
    Ok(true)
}

/// A link to `session`'s status page. False when there is no such session.
pub fn insert_status(
    conn: &Db,
    sha256: &[u8; 32],
    session: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    if !crate::store::sessions::exists(conn, session)? {
        return Ok(false);
    }
    conn.prepare_cached(crate::sql!(
        "INSERT INTO page_links (sha256, kind, session_id, created_at) \
         VALUES (?1, 'status', ?2, ?3)"
    ))?
    .execute(params![sha256.to_vec(), session, to_millis(now)])?;
    Ok(true)
}

/// What the link with this hash opens, if there is one.
pub fn find(conn: &Db, sha256: &[u8; 32]) -> crate::store::Result<Option<Opens>> {
    conn.prepare_cached(crate::sql!(
        "SELECT kind, session_id, assignment_id, mechanic_id, outcome FROM page_links \
         WHERE sha256 = ?1"
    ))?
    .query_row(params![sha256.to_vec()], |r| {
        let kind: String = r.get(0)?;
        let session: String = r.get(1)?;
        Ok(match (kind.as_str(), r.get(2)?, r.get(3)?) {
            ("offer", Some(assignment), Some(mechanic)) => Opens::Offer {
                session,
                assignment,
                mechanic,
                outcome: r.get(4)?,
            },
            _ => Opens::Status { session },
        })
    })
    .optional()
}

/// Notes how an offer was answered through its link; the first answer stays.
pub fn set_outcome(conn: &Db, sha256: &[u8; 32], outcome: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE page_links SET outcome = ?1 WHERE sha256 = ?2 AND kind = 'offer' \
         AND outcome IS NULL"
    ))?
    .execute(params![outcome, sha256.to_vec()])?;
    Ok(())
}

/// Whether the offer `assignment` can still be answered at `now`.
pub fn offer_is_live(
    conn: &Db,
    assignment: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!(
        "SELECT 1 FROM session_assignments WHERE id = ?1 AND status = 'offered' \
         AND expires_at > ?2"
    ))?
    .exists(params![assignment, to_millis(now)])
}
