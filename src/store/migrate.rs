//! Schema migrations keyed by `PRAGMA user_version`. Version 1 is schema.sql; later versions
//! append steps here. Each upgrade runs in one transaction, so a crash never leaves a
//! half-migrated file.

use rusqlite::{Connection, TransactionBehavior};

use super::OpenError;

const SCHEMA: &str = include_str!("../../schema.sql");

/// Steps from version i to i+1; the first creates everything.
const STEPS: &[&str] = &[SCHEMA];

pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

pub fn migrate(conn: &Connection, label: &str) -> Result<(), OpenError> {
    let setup = |source| OpenError::Setup {
        path: label.to_string(),
        source,
    };
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(setup)?;
    if found < 0 {
        return Err(OpenError::UnknownVersion {
            path: label.to_string(),
            found,
        });
    }
    if found > SCHEMA_VERSION {
        return Err(OpenError::TooNew {
            path: label.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // The connection is not shared yet, so an unchecked transaction is fine; IMMEDIATE makes a
    // second process opening the same new file wait rather than race the creation.
    let mut conn_tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(setup)?;
    let found: i64 = conn_tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(setup)?;
    for step in &STEPS[found as usize..] {
        conn_tx.execute_batch(step).map_err(setup)?;
    }
    conn_tx
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(setup)?;
    conn_tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    conn_tx.commit().map_err(setup)
}
