//! The only module that speaks SQL. One connection per process; the engine wraps every command
//! in one transaction (`BEGIN IMMEDIATE` for writes) and calls the functions here with it.

pub mod assignments;
pub mod check;
pub mod events;
pub mod mechanics;
mod migrate;
pub mod report;
pub mod sessions;
pub mod settings;
pub mod waitlist;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use migrate::{SCHEMA_VERSION, migrate};

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} was written by a newer pitwall (schema version {found}, this build knows {known}); upgrade pitwall to open it"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("cannot prepare database {path}: {source}")]
    Setup {
        path: String,
        source: rusqlite::Error,
    },
}

/// Opens (creating if needed) a database file, or an in-memory one when `path` is `None`, and
/// brings its schema up to date.
pub fn open(path: Option<&Path>) -> Result<Connection, OpenError> {
    let label = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
    let conn = match path {
        Some(p) => {
            create_private(p);
            Connection::open_with_flags(
                p,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
        None => Connection::open_in_memory(),
    }
    .map_err(|source| OpenError::Open {
        path: label.clone(),
        source,
    })?;
    configure(&conn).map_err(|source| OpenError::Setup {
        path: label.clone(),
        source,
    })?;
    migrate(&conn, &label)?;
    Ok(conn)
}

/// Creates a new database file readable by its owner only; customer data lives in it.
pub(crate) fn create_private(path: &Path) {
    if path.exists() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
}

/// WAL so readers never block the writer; `synchronous = NORMAL`, which in WAL mode keeps every
/// committed transaction through a process crash (a power loss may lose the last few); a busy
/// timeout so two processes queue for the write lock instead of failing.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// `PRAGMA data_version`: changes whenever another connection commits, so a console can notice
/// another process's writes without re-reading everything.
pub fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// JSON text column → value, tolerating NULL as empty.
pub(crate) fn json_list(text: Option<String>) -> rusqlite::Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        }),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}
