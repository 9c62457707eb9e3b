//! API tokens (SPEC §13): `pw_<role>_<43 characters of base64url>`, 256 random bits. Only the
//! SHA-256 of a token is stored; a presented token is hashed and its hash compared in constant
//! time, so neither the database nor a stopwatch gives a token away.

use crate::store::Db;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::store::tokens::{self as store, TokenRow};

/// What a token may do (SPEC §13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Dispatcher,
    /// Acts for this mechanic only.
    Mechanic(String),
    Intake,
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::Mechanic(_) => "mechanic",
            Role::Intake => "intake",
        }
    }

    pub const NAMES: &'static [&'static str] = &["dispatcher", "mechanic", "intake"];
}

/// A token that authenticated: who it is and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub role: Role,
}

/// How often `last_used_at` is written at most: once a minute per token keeps `token list`
/// useful ("used today", "never used") without turning every read into a write.
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Makes a token for `role` and stores its hash; returns the id and the token, which is shown
/// once and never stored.
pub fn create(
    conn: &Db,
    role: &str,
    mechanic: Option<&str>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> DispatchResult<(String, String)> {
    let role = match (role, mechanic) {
        ("mechanic", Some(m)) => {
            if crate::store::mechanics::get(conn, m)?.is_none() {
                return Err(DispatchError::not_found("mechanic", "mechanic", m));
            }
            Role::Mechanic(m.to_string())
        }
        ("mechanic", None) => {
            return Err(DispatchError::invalid(
                "mechanic",
                "A mechanic token acts for one mechanic: give --mechanic ID.",
            ));
        }
        (_, Some(_)) => {
            return Err(DispatchError::invalid(
                "mechanic",
                "--mechanic applies only to --role mechanic.",
            ));
        }
        ("dispatcher", None) => Role::Dispatcher,
        ("intake", None) => Role::Intake,
        (other, None) => {
            return Err(DispatchError::invalid(
                "role",
                format!(
                    "Unknown role \"{}\"; roles: {}.",
                    crate::text::inert(other),
                    Role::NAMES.join(", ")
                ),
            ));
        }
    };
    if let Some(label) = label
        && (label.chars().count() > 200 || label.chars().any(char::is_control))
    {
        return Err(DispatchError::invalid(
            "label",
            "A label is at most 200 characters, without control characters.",
        ));
    }
    let secret = random_bytes::<32>()?;
    let token = format!(
        "pw_{}_{}",
        role.name(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    // Hex, so an id is easy to read out and type into `token revoke`.
    let id = format!(
        "tok_{}",
        random_bytes::<6>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if store::exists(conn, &id)? {
        // 48 random bits: a repeat is as likely as winning a lottery twice; say so rather than
        // overwrite.
        return Err(DispatchError::new(
            ErrorCode::Internal,
            "A new token id repeated an old one; run the command again.",
        ));
    }
    store::insert(
        conn,
        &TokenRow {
            id: id.clone(),
            role: role.name().to_string(),
            mechanic: mechanic.map(str::to_string),
            label: label.map(str::to_string),
            sha256: sha256(&token).to_vec(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
    )?;
    Ok((id, token))
}

fn random_bytes<const N: usize>() -> DispatchResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        DispatchError::new(
            ErrorCode::Internal,
            format!("The system gave no random bytes: {e}."),
        )
    })?;
    Ok(bytes)
}

/// The caller a presented token stands for, or `unauthorized` (unknown, malformed or revoked
/// token: the same answer, so a caller learns nothing about which). Notes the use.
pub fn authenticate(conn: &Db, token: &str, now: DateTime<Utc>) -> DispatchResult<Caller> {
    let unauthorized = || {
        DispatchError::new(
            ErrorCode::Unauthorized,
            "Unknown or revoked token: send Authorization: Bearer <token> with a token from \
             `pitwall token create`.",
        )
    };
    let hash = sha256(token);
    let Some(row) = store::by_hash(conn, &hash)? else {
        return Err(unauthorized());
    };
    // The lookup found it by hash already; comparing again in constant time keeps the decision
    // itself free of early exits on the bytes.
    if !bool::from(row.sha256.as_slice().ct_eq(&hash)) || row.revoked_at.is_some() {
        return Err(unauthorized());
    }
    let role = match (row.role.as_str(), row.mechanic) {
        ("dispatcher", _) => Role::Dispatcher,
        ("intake", _) => Role::Intake,
        ("mechanic", Some(m)) => Role::Mechanic(m),
        _ => return Err(unauthorized()),
    };
    // Written only when the last note is a minute old: an UPDATE that matches nothing still
    // takes SQLite's write lock, which every request would otherwise queue for.
    if row.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY)
        && let Err(e) = store::touch(conn, &row.id, now, TOUCH_EVERY)
    {
        // A busy database must not turn a good request away for bookkeeping.
        tracing::debug!(error = %e, "could not note a token's use");
    }
    Ok(Caller {
        token_id: row.id,
        role,
    })
}

/// A token as `token list` shows it: never the token, never its hash.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub id: String,
    pub role: String,
    pub mechanic: Option<String>,
    pub label: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn list(conn: &Db) -> DispatchResult<Vec<Listed>> {
    let rfc = crate::clock::rfc3339;
    Ok(store::all(conn)?
        .into_iter()
        .map(|t| Listed {
            id: t.id,
            role: t.role,
            mechanic: t.mechanic,
            label: t.label,
            created_at: rfc(t.created_at),
            last_used_at: t.last_used_at.map(rfc),
            revoked_at: t.revoked_at.map(rfc),
        })
        .collect())
}

/// The list as a table for a terminal; labels pass through [`crate::text::for_screen`].
pub fn list_text(tokens: &[Listed]) -> String {
    use crate::text::for_screen;
    let mut out = format!(
        "{:<16} {:<10} {:<16} {:<24} {:<24} {:<24} {}\n",
        "ID", "ROLE", "MECHANIC", "CREATED", "LAST USED", "REVOKED", "LABEL"
    );
    for t in tokens {
        out.push_str(&format!(
            "{:<16} {:<10} {:<16} {:<24} {:<24} {:<24} {}\n",
            for_screen(&t.id),
            t.role,
            for_screen(t.mechanic.as_deref().unwrap_or("-")),
            t.created_at,
            t.last_used_at.as_deref().unwrap_or("never"),
            t.revoked_at.as_deref().unwrap_or("-"),
            for_screen(t.label.as_deref().unwrap_or(""))
        ));
    }
    if tokens.is_empty() {
        out.push_str("(no tokens yet: pitwall token create --role dispatcher)\n");
    }
    out
}

pub fn revoke(conn: &Db, id: &str, now: DateTime<Utc>) -> DispatchResult<()> {
    if store::revoke(conn, id, now)? {
        return Ok(());
    }
    if store::exists(conn, id)? {
        Err(DispatchError::new(
            ErrorCode::InvalidState,
            format!("Token {} is revoked already.", crate::text::inert(id)),
        ))
    } else {
        Err(DispatchError::not_found("id", "token", id))
    }
}
