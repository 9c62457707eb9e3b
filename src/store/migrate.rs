//! Schema migrations keyed by `PRAGMA user_version`. A new file gets schema.sql, the whole
//! current schema, in one step; a file of an older version gets the upgrades in `migrations/`
//! from its version on. Either runs in one transaction, so a crash never leaves a half-migrated
//! file.

use rusqlite::{Connection, TransactionBehavior};

use super::OpenError;

const SCHEMA: &str = include_str!("../../schema.sql");

/// One step from a version to the next.
struct Upgrade {
    sql: &'static str,
    /// Rows the step cannot carry over: a query returning their ids (at most a few), and why.
    /// pitwall never writes such rows; a hand-edited file may hold them, and is then refused
    /// whole and untouched rather than upgraded with a guess.
    refuse_if: Option<(&'static str, &'static str)>,
}

/// `UPGRADES[i]` takes a file from version i + 1 to i + 2. A schema change edits schema.sql and
/// appends its upgrade here; `tests/it/migrations.rs` checks the two agree. Never edit a step once
/// a release has shipped it: files in the field are already past it.
const UPGRADES: &[Upgrade] = &[
    Upgrade {
        sql: include_str!("../../migrations/0002_narrow_assignments.sql"),
        refuse_if: Some((
            "SELECT COALESCE(id, 'row ' || rowid) FROM session_assignments \
             WHERE id IS NULL OR match_type IS NULL OR match_type NOT IN ('targeted', 'broadcast') \
             LIMIT 5",
            "assignments without an id, or whose metadata.match_type is not targeted or broadcast",
        )),
    },
    Upgrade {
        sql: include_str!("../../migrations/0003_dispatch_rules.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0004_delivery.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0005_api.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0006_scheduling.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0007_delivery_truth.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0008_api_trust.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0009_history.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0010_pages.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0011_assignment_status_pairs.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0012_check_lists_in_pairs.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0013_assignment_status_equalities.sql"),
        refuse_if: None,
    },
    Upgrade {
        sql: include_str!("../../migrations/0014_expiry_in_place.sql"),
        refuse_if: None,
    },
];

pub const SCHEMA_VERSION: i64 = UPGRADES.len() as i64 + 1;

pub fn migrate(conn: &Connection, label: &str) -> Result<(), OpenError> {
    let setup = |source: rusqlite::Error| OpenError::Setup {
        path: label.to_string(),
        source: source.into(),
    };
    let version = |conn: &Connection| -> Result<i64, OpenError> {
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
        Ok(found)
    };
    if version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    // A step that rebuilds a table (SQLite changes a CHECK no other way) drops the table other
    // tables refer to; with foreign keys on, that drop would delete through them. They are off
    // for the upgrade (the pragma is ignored inside a transaction, so it is set before) and
    // checked whole before the commit; `configure` turned them on and this turns them back.
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(setup)?;
    let result = upgrade(conn, label, version);
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(setup)?;
    result
}

fn upgrade(
    conn: &Connection,
    label: &str,
    version: impl Fn(&Connection) -> Result<i64, OpenError>,
) -> Result<(), OpenError> {
    let setup = |source: rusqlite::Error| OpenError::Setup {
        path: label.to_string(),
        source: source.into(),
    };
    // The connection is not shared yet, so an unchecked transaction is fine; IMMEDIATE makes a
    // second process opening the same new file wait rather than race the creation. The version
    // is read again under the lock: that process may have migrated the file meanwhile.
    let mut conn_tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(setup)?;
    let found = version(&conn_tx)?;
    match found {
        0 => conn_tx.execute_batch(SCHEMA).map_err(setup)?,
        found => {
            for (step, from) in UPGRADES[found as usize - 1..].iter().zip(found..) {
                refuse_what_cannot_upgrade(&conn_tx, step, from, label)?;
                conn_tx.execute_batch(step.sql).map_err(setup)?;
            }
        }
    }
    let dangling: i64 = conn_tx
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map_err(setup)?;
    if dangling > 0 {
        return Err(OpenError::CannotUpgrade {
            path: label.to_string(),
            from: found,
            why: "rows referring to rows that do not exist",
            ids: format!("{dangling} rows"),
        });
    }
    conn_tx
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(setup)?;
    conn_tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    conn_tx.commit().map_err(setup)
}

fn refuse_what_cannot_upgrade(
    conn: &Connection,
    step: &Upgrade,
    from: i64,
    label: &str,
) -> Result<(), OpenError> {
    let Some((query, why)) = step.refuse_if else {
        return Ok(());
    };
    let ids: Vec<String> = conn
        .prepare(query)
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(|source| OpenError::Setup {
            path: label.to_string(),
            source: source.into(),
        })?;
    if ids.is_empty() {
        return Ok(());
    }
    Err(OpenError::CannotUpgrade {
        path: label.to_string(),
        from,
        why,
        ids: ids.join(", "),
    })
}
