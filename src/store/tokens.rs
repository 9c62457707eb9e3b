//! API tokens and idempotency records (SPEC §13). A token is stored only as its SHA-256; the
//! token itself is shown once, when it is made, and never again.

use crate::store::db::{Db, OptionalExtension, params};
use chrono::{DateTime, Utc};

use crate::clock::{from_millis, to_millis};

/// One stored token, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub role: String,
    pub mechanic: Option<String>,
    pub label: Option<String>,
    pub sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, role, mechanic_id, label, sha256, created_at, last_used_at, revoked_at";

fn row(r: &crate::store::db::Row<'_>) -> crate::store::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        role: r.get(1)?,
        mechanic: r.get(2)?,
        label: r.get(3)?,
        sha256: r.get(4)?,
        created_at: from_millis(r.get(5)?),
        last_used_at: r.get::<_, Option<i64>>(6)?.map(from_millis),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(from_millis),
    })
}

pub fn insert(conn: &Db, token: &TokenRow) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO api_tokens (",
        COLUMNS,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)"
    ))?
    .execute(params![
        token.id,
        token.role,
        token.mechanic,
        token.label,
        token.sha256,
        to_millis(token.created_at)
    ])?;
    Ok(())
}

/// The token whose SHA-256 this is, revoked or not (the caller tells them apart).
pub fn by_hash(conn: &Db, sha256: &[u8]) -> crate::store::Result<Option<TokenRow>> {
    conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM api_tokens WHERE sha256 = ?1"
    ))?
    .query_row([sha256], row)
    .optional()
}

pub fn all(conn: &Db) -> crate::store::Result<Vec<TokenRow>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT ",
        COLUMNS,
        " FROM api_tokens ORDER BY created_at, id"
    ))?;
    stmt.query_map(crate::params![], row)?.collect()
}

/// Revokes a token; false when there is no such token or it was revoked already.
pub fn revoke(conn: &Db, id: &str, now: DateTime<Utc>) -> crate::store::Result<bool> {
    Ok(conn
        .prepare_cached(crate::sql!(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL"
        ))?
        .execute(params![to_millis(now), id])?
        == 1)
}

/// The ids of every revoked token.
pub fn revoked_ids(conn: &Db) -> crate::store::Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL"
    ))?;
    stmt.query_map(crate::params![], |r| r.get(0))?.collect()
}

pub fn exists(conn: &Db, id: &str) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!("SELECT 1 FROM api_tokens WHERE id = ?1"))?
        .exists([id])
}

/// Notes the token's use, at most once per `every`: a read must not become a write each time.
pub fn touch(
    conn: &Db,
    id: &str,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2 \
         AND (last_used_at IS NULL OR last_used_at <= ?3)"
    ))?
    .execute(params![to_millis(now), id, to_millis(now - every)])?;
    Ok(())
}

/// A kept response: the SHA-256 of the request body it answered, its HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub request_sha256: Vec<u8>,
    pub status: u16,
    pub response: String,
}

/// The response kept for (token, key), if one was kept since `since`.
pub fn kept(
    conn: &Db,
    token: &str,
    key: &str,
    since: DateTime<Utc>,
) -> crate::store::Result<Option<Kept>> {
    conn.prepare_cached(crate::sql!(
        "SELECT request_sha256, status, response FROM api_idempotency \
         WHERE token_id = ?1 AND key = ?2 AND created_at > ?3"
    ))?
    .query_row(params![token, key, to_millis(since)], |r| {
        Ok(Kept {
            request_sha256: r.get(0)?,
            status: r.get(1)?,
            response: r.get(2)?,
        })
    })
    .optional()
}

/// Claims (token, key) for a command about to run: the first statement of the command's own
/// write transaction, so the claim and the command's effects commit together or not at all.
/// False when the key is held already (kept since `since`): the caller replays what is kept. A
/// record from before `since` is forgotten and the key claimed anew.
pub fn claim(
    conn: &Db,
    token: &str,
    key: &str,
    request_sha256: &[u8],
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!(
        "DELETE FROM api_idempotency WHERE token_id = ?1 AND key = ?2 AND created_at <= ?3"
    ))?
    .execute(params![token, key, to_millis(since)])?;
    // Status 0 and no response until `fill` writes them, in the same transaction: no other
    // connection ever sees the record without its answer.
    Ok(conn
        .prepare_cached(crate::sql!(
            "INSERT INTO api_idempotency \
             (token_id, key, request_sha256, status, response, created_at) \
             VALUES (?1, ?2, ?3, 0, '', ?4) ON CONFLICT (token_id, key) DO NOTHING"
        ))?
        .execute(params![token, key, request_sha256, to_millis(now)])?
        == 1)
}

/// Writes the answer of a claimed key, before the command's transaction commits.
pub fn fill(
    conn: &Db,
    token: &str,
    key: &str,
    status: u16,
    response: &str,
) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "UPDATE api_idempotency SET status = ?1, response = ?2 WHERE token_id = ?3 AND key = ?4"
    ))?
    .execute(params![status, response, token, key])?;
    Ok(())
}

/// Keeps an answer for (token, key) on its own: a refused command rolled back its claim with
/// everything else, and `deliver` has no transaction to claim in. An answer kept meanwhile
/// (another host that ran it) stays.
pub fn keep_first(
    conn: &Db,
    token: &str,
    key: &str,
    kept: &Kept,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "DELETE FROM api_idempotency WHERE token_id = ?1 AND key = ?2 AND created_at <= ?3"
    ))?
    .execute(params![token, key, to_millis(since)])?;
    conn.prepare_cached(
        crate::sql!("INSERT INTO api_idempotency \
         (token_id, key, request_sha256, status, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (token_id, key) DO NOTHING"),
    )?
    .execute(params![
        token,
        key,
        kept.request_sha256,
        kept.status,
        kept.response,
        to_millis(now)
    ])?;
    Ok(())
}

/// Notes that `token` created `session`, in the intake's own transaction.
pub fn record_owner(conn: &Db, session: &str, token: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO api_session_owners (session_id, token_id) VALUES (?1, ?2)"
    ))?
    .execute(params![session, token])?;
    Ok(())
}

/// Whether `token` created `session`.
pub fn token_owns_session(conn: &Db, token: &str, session: &str) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!(
        "SELECT 1 FROM api_session_owners WHERE session_id = ?1 AND token_id = ?2"
    ))?
    .exists(params![session, token])
}

/// Forgets responses kept before `before`; returns how many.
pub fn prune_kept(conn: &Db, before: DateTime<Utc>) -> crate::store::Result<usize> {
    conn.prepare_cached(crate::sql!(
        "DELETE FROM api_idempotency WHERE created_at <= ?1"
    ))?
    .execute([to_millis(before)])
}

/// Whether a mechanic may read a session over the API: he was offered it (any assignment row
/// naming him) or he is matched to it.
pub fn mechanic_knows_session(
    conn: &Db,
    mechanic: &str,
    session: &str,
) -> crate::store::Result<bool> {
    conn.prepare_cached(crate::sql!(
        "SELECT 1 FROM session_assignments WHERE session_id = ?1 AND mechanic_id = ?2 \
         UNION ALL SELECT 1 FROM sessions WHERE id = ?1 AND matched_mechanic_id = ?2 LIMIT 1"
    ))?
    .exists(params![session, mechanic])
}
