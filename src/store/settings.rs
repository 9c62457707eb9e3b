//! Feature flags and dispatch settings (SPEC §2, §5).

use crate::store::db::{Db, params};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SmartMatching {
    pub enabled: bool,
    pub rollout_percent: u8,
}

pub fn smart_matching(conn: &Db) -> crate::store::Result<SmartMatching> {
    // Its two rows by key (every intake reads them), not the whole table.
    Ok(SmartMatching {
        enabled: get(conn, "enable_smart_matching")?.is_none_or(|v| v == "on"),
        rollout_percent: get(conn, "smart_matching_rollout_percent")?
            .map_or(100, |v| v.parse::<u8>().unwrap_or(100).min(100)),
    })
}

pub fn set_smart_matching(conn: &Db, flag: SmartMatching) -> crate::store::Result<()> {
    let mut stmt = conn.prepare_cached(crate::sql!(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ))?;
    stmt.execute(params![
        "enable_smart_matching",
        if flag.enabled { "on" } else { "off" }
    ])?;
    stmt.execute(params![
        "smart_matching_rollout_percent",
        flag.rollout_percent.to_string()
    ])?;
    Ok(())
}

/// How long a released session may wait before it is escalated (SPEC §5).
pub const ESCALATE_AFTER_DEFAULT: i64 = 600;
/// The longest escalation delay a supervisor may set: a day.
pub const ESCALATE_AFTER_MAX: i64 = 86_400;

pub fn escalate_after_seconds(conn: &Db) -> crate::store::Result<i64> {
    use crate::store::db::OptionalExtension;
    let value: Option<String> = conn
        .prepare_cached(crate::sql!(
            "SELECT value FROM settings WHERE key = 'escalate_after_seconds'"
        ))?
        .query_row(crate::params![], |r| r.get(0))
        .optional()?;
    Ok(value
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| (1..=ESCALATE_AFTER_MAX).contains(v))
        .unwrap_or(ESCALATE_AFTER_DEFAULT))
}

pub fn set_escalate_after_seconds(conn: &Db, seconds: i64) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO settings (key, value) VALUES ('escalate_after_seconds', ?1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ))?
    .execute([seconds.to_string()])?;
    Ok(())
}

/// A setting's text, when set.
pub fn get(conn: &Db, key: &str) -> crate::store::Result<Option<String>> {
    use crate::store::db::OptionalExtension;
    conn.prepare_cached(crate::sql!("SELECT value FROM settings WHERE key = ?1"))?
        .query_row([key], |r| r.get(0))
        .optional()
}

pub fn set(conn: &Db, key: &str, value: &str) -> crate::store::Result<()> {
    conn.prepare_cached(crate::sql!(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ))?
    .execute([key, value])?;
    Ok(())
}

/// Where the history kept starts: sessions made before it may have been pruned (SPEC §9's
/// figures count from here). Milliseconds; `None` when nothing was ever pruned.
pub const HISTORY_SINCE: &str = "history_since";

pub fn history_since(conn: &Db) -> crate::store::Result<Option<i64>> {
    Ok(get(conn, HISTORY_SINCE)?.and_then(|v| v.parse().ok()))
}
