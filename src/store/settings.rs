//! Feature flags (SPEC §2 settings).

use rusqlite::{Connection, params};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SmartMatching {
    pub enabled: bool,
    pub rollout_percent: u8,
}

pub fn smart_matching(conn: &Connection) -> rusqlite::Result<SmartMatching> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let mut flag = SmartMatching {
        enabled: true,
        rollout_percent: 100,
    };
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (key, value) = row?;
        match key.as_str() {
            "enable_smart_matching" => flag.enabled = value == "on",
            "smart_matching_rollout_percent" => {
                flag.rollout_percent = value.parse::<u8>().unwrap_or(100).min(100)
            }
            _ => {}
        }
    }
    Ok(flag)
}

pub fn set_smart_matching(conn: &Connection, flag: SmartMatching) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
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
