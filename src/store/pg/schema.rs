//! Putting pitwall's schema into a PostgreSQL database, or checking it is there. The version
//! lives in the one-row table `pitwall_schema` (SQLite keeps it in `PRAGMA user_version`).

use super::PgConn;
use crate::store::SCHEMA_VERSION;
use crate::store::value::Value;

/// schema.sql in PostgreSQL's dialect, at [`SCHEMA_VERSION`].
pub const SCHEMA_PG: &str = include_str!("../../../schema_pg.sql");

/// The first schema version pitwall made on PostgreSQL: every later one is reached from it by
/// [`UPGRADES`].
const FIRST_VERSION: i64 = 6;

/// `UPGRADES[i]` takes a database from version `FIRST_VERSION + i` to the next, as
/// `migrations/` does for SQLite files. A schema change edits schema_pg.sql and appends its step
/// here; tests/it/pg_backend.rs upgrades a database made from the first schema and compares it with
/// a new one. Never edit a step once a release has shipped it.
const UPGRADES: &[&str] = &[
    include_str!("../../../migrations/postgres/0007_delivery_truth.sql"),
    include_str!("../../../migrations/postgres/0008_api_trust.sql"),
    include_str!("../../../migrations/postgres/0009_history.sql"),
    include_str!("../../../migrations/postgres/0010_pages.sql"),
    include_str!("../../../migrations/postgres/0011_assignment_status_pairs.sql"),
    include_str!("../../../migrations/postgres/0012_check_lists_in_pairs.sql"),
    include_str!("../../../migrations/postgres/0013_assignment_status_equalities.sql"),
    include_str!("../../../migrations/postgres/0014_expiry_in_place.sql"),
];

const _: () = assert!(
    FIRST_VERSION + UPGRADES.len() as i64 == SCHEMA_VERSION,
    "a schema change needs its PostgreSQL step too"
);

/// The advisory lock every pitwall takes while it looks at and creates the schema, so two
/// processes starting at once on an empty database do not both create it ("pitwall" in ASCII).
const SCHEMA_LOCK: i64 = 0x7069_7477_616c_6c00;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database holds pitwall schema version {found}, newer than this pitwall knows \
         ({known}); upgrade pitwall"
    )]
    TooNew { found: i64, known: i64 },
    #[error(
        "the database already holds tables that are not pitwall's; point pitwall at an empty \
         database"
    )]
    NotPitwall,
    /// Older than the first schema pitwall made on PostgreSQL: not a database pitwall made.
    #[error(
        "the database holds pitwall schema version {found}, older than any pitwall made on \
         PostgreSQL ({known} and later)"
    )]
    TooOld { found: i64, known: i64 },
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
}

/// Creates the schema in an empty database, or checks the one there: the schema version the
/// database holds afterwards. One transaction under [`SCHEMA_LOCK`], so a crash leaves nothing
/// half-created and a second process waits, then finds the schema the first one made.
pub fn prepare_schema(conn: &PgConn) -> Result<i64, SchemaError> {
    // READ COMMITTED whatever the server's default: each statement after the lock sees what a
    // process that held it before committed.
    conn.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    let result = check_or_create(conn);
    match result {
        Ok(version) => {
            conn.batch("COMMIT")?;
            Ok(version)
        }
        Err(e) => {
            // The transaction's error is the one to report; a failed rollback only means the
            // connection is gone, which takes the transaction with it.
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

fn check_or_create(conn: &PgConn) -> Result<i64, SchemaError> {
    conn.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[Value::Integer(SCHEMA_LOCK)],
    )?;
    let ours = conn.query("SELECT to_regclass('pitwall_schema') IS NOT NULL", &[])?;
    if ours.first().and_then(|row| row.first()) == Some(&Value::Integer(1)) {
        let rows = conn.query("SELECT max(version) FROM pitwall_schema", &[])?;
        return match rows.first().and_then(|row| row.first()) {
            Some(Value::Integer(found)) if *found > SCHEMA_VERSION => Err(SchemaError::TooNew {
                found: *found,
                known: SCHEMA_VERSION,
            }),
            Some(Value::Integer(found)) if *found < FIRST_VERSION => Err(SchemaError::TooOld {
                found: *found,
                known: FIRST_VERSION,
            }),
            Some(Value::Integer(found)) => upgrade(conn, *found),
            // The table without a row: not something pitwall leaves behind.
            _ => Err(SchemaError::NotPitwall),
        };
    }
    let others = conn.query(
        "SELECT count(*) FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        &[],
    )?;
    if others.first().and_then(|row| row.first()) != Some(&Value::Integer(0)) {
        return Err(SchemaError::NotPitwall);
    }
    conn.batch(SCHEMA_PG)?;
    conn.execute(
        "INSERT INTO pitwall_schema (version) VALUES ($1)",
        &[Value::Integer(SCHEMA_VERSION)],
    )?;
    Ok(SCHEMA_VERSION)
}

/// Brings a database at `found` up to [`SCHEMA_VERSION`], inside the caller's transaction (so a
/// crash leaves the old version whole) and under its lock (so two processes starting at once
/// upgrade once).
fn upgrade(conn: &PgConn, found: i64) -> Result<i64, SchemaError> {
    if found == SCHEMA_VERSION {
        return Ok(found);
    }
    for step in &UPGRADES[(found - FIRST_VERSION) as usize..] {
        conn.batch(step)?;
    }
    conn.execute(
        "UPDATE pitwall_schema SET version = $1",
        &[Value::Integer(SCHEMA_VERSION)],
    )?;
    Ok(SCHEMA_VERSION)
}
